import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { NetnsHandle } from "@podid/testkit";
import type { ImdsSnapshot, NodeFakesCommand, NodeFakesReady, NodeFakesReply, NodeFakesSetup } from "./node-fakes-protocol.js";

/** A command without its id (the client numbers them). */
type CommandBody = NodeFakesCommand extends infer C ? (C extends NodeFakesCommand ? Omit<C, "id"> : never) : never;

/**
 * The test's handle on the fakes process running inside a node namespace (`node-fakes-main.ts`): writes
 * cluster objects into the fake kube-apiserver and reads the fake IMDS's counters, over the process's
 * stdin/stdout. Every call is bounded.
 */
export class NodeFakes {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  readonly #stderr: string[] = [];
  #nextId = 1;
  #exited = false;
  /** What the process reported once it listened. */
  readonly ready: NodeFakesReady;

  private constructor(child: ChildProcess, ready: NodeFakesReady, stderr: string[]) {
    this.#child = child;
    this.ready = ready;
    this.#stderr = stderr;
  }

  /** Starts `script` (the compiled `node-fakes-main.js`) in `ns` and waits (bounded) for its ready line. */
  static async start(ns: NetnsHandle, script: string, setup: NodeFakesSetup, timeoutMs = 15_000): Promise<NodeFakes> {
    const child = spawn("ip", ["netns", "exec", ns.name, process.execPath, script, JSON.stringify(setup)], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
    });
    const stderr: string[] = [];
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => stderr.push(chunk));
    const lines = createInterface({ input: child.stdout! });
    let instance: NodeFakes | undefined;
    const ready = await new Promise<NodeFakesReady>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`node fakes did not start within ${String(timeoutMs)} ms; stderr: ${stderr.join("")}`));
      }, timeoutMs);
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`node fakes exited (${String(code ?? signal)}) before they were ready; stderr: ${stderr.join("")}`));
      });
      lines.on("line", (line) => {
        if (instance !== undefined) {
          instance.#onLine(line);
          return;
        }
        try {
          const parsed = JSON.parse(line) as { rpc?: string };
          if (parsed.rpc === "ready") {
            clearTimeout(timer);
            resolve(parsed as NodeFakesReady);
          }
        } catch {
          // Not a protocol line.
        }
      });
    });
    const fakes = new NodeFakes(child, ready, stderr);
    instance = fakes;
    child.removeAllListeners("exit");
    child.once("exit", () => fakes.#onExit());
    return fakes;
  }

  /** Creates or replaces `object`; resolves with the stored object (uid, resourceVersion filled in). */
  upsert(object: Readonly<Record<string, unknown>>): Promise<Record<string, unknown>> {
    return this.#call({ op: "upsert", object }) as Promise<Record<string, unknown>>;
  }

  /** Removes an object; resolves `false` when it did not exist. */
  remove(resource: string, name: string, namespace?: string): Promise<boolean> {
    return this.#call({ op: "remove", resource, name, ...(namespace !== undefined ? { namespace } : {}) }) as Promise<boolean>;
  }

  /** The fake IMDS's counters and request log. */
  imds(): Promise<ImdsSnapshot> {
    return this.#call({ op: "imds" }) as Promise<ImdsSnapshot>;
  }

  /** Ends the process (stdin closed, then SIGKILL after `graceMs`). */
  async stop(graceMs = 3_000): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#child.once("exit", () => resolve()));
    this.#child.stdin?.end();
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }

  #call(body: CommandBody, timeoutMs = 5_000): Promise<unknown> {
    if (this.#exited) return Promise.reject(new Error(`node fakes have exited; stderr: ${this.#stderr.join("")}`));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`node fakes did not answer ${body.op} within ${String(timeoutMs)} ms`));
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.#child.stdin?.write(`${JSON.stringify({ ...body, id })}\n`);
    });
  }

  #onLine(line: string): void {
    let reply: NodeFakesReply;
    try {
      reply = JSON.parse(line) as NodeFakesReply;
    } catch {
      return;
    }
    if (reply.rpc !== "reply") return;
    const waiter = this.#pending.get(reply.id);
    if (waiter === undefined) return;
    this.#pending.delete(reply.id);
    if (reply.ok) waiter.resolve(reply.value);
    else waiter.reject(new Error(`node fakes: ${reply.error}`));
  }

  #onExit(): void {
    this.#exited = true;
    for (const [id, waiter] of this.#pending) {
      this.#pending.delete(id);
      waiter.reject(new Error(`node fakes exited; stderr: ${this.#stderr.join("")}`));
    }
  }
}
