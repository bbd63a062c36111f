import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../nmi-e2e/e2e-node.js";
import { buildNmiImageEntry, readImageLaunch, type ImageLaunch } from "./nmi-footprint-image.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** How the shipped NMI image starts, read from its Dockerfile. */
function shippedLaunch(): ImageLaunch {
  return readImageLaunch(readFileSync(join(ROOT, "packages/nmi-server/Dockerfile"), "utf8"));
}

/**
 * How the footprint bench reproduces the NMI image's launch (docs/adr/0017-nmi-as-shipped-footprint.md): the node
 * flags and ENV of the Dockerfile, and the image's bundle — which must not load Node's bundled undici at start
 * (an ES module import of `node:http` would, through its lazy `WebSocket` getters).
 */
describe("the NMI image's launch, as the footprint bench runs it", () => {
  it("reads the node flags of the exec-form ENTRYPOINT and the ENV lines but PATH", () => {
    const launch = readImageLaunch(
      ['FROM scratch', "ENV PATH=/usr/bin", "ENV MALLOC_ARENA_MAX=2", 'ENTRYPOINT ["/usr/local/bin/node", "--max-semi-space-size=1", "--v8-pool-size=0", "/app/main.mjs"]'].join("\n"),
    );
    expect(launch).toEqual({ nodeFlags: ["--max-semi-space-size=1", "--v8-pool-size=0"], env: { MALLOC_ARENA_MAX: "2" } });
  });

  it("refuses what it cannot reproduce, with the reason", () => {
    expect(() => readImageLaunch("FROM scratch")).toThrow(/no ENTRYPOINT/);
    expect(() => readImageLaunch("ENTRYPOINT /usr/local/bin/node /app/main.mjs")).toThrow(/exec \(JSON array\) form/);
    expect(() => readImageLaunch('ENTRYPOINT ["/bin/sh", "-c", "node /app/main.mjs"]')).toThrow(/\["<node>"/);
    expect(() => readImageLaunch('ENV A="x y"\nENTRYPOINT ["/usr/local/bin/node", "/app/main.mjs"]')).toThrow(/unsupported ENV line/);
  });

  it("the shipped Dockerfile starts NMI with V8's young generation capped (2 MB semi-spaces, ADR 17 addendum)", () => {
    expect(shippedLaunch().nodeFlags).toContain("--max-semi-space-size=2");
  });

  it("the shipped Dockerfile starts NMI with one malloc arena and a fixed trim threshold (ADR 17, addendum)", () => {
    expect(shippedLaunch().env).toMatchObject({ MALLOC_ARENA_MAX: "1", MALLOC_TRIM_THRESHOLD_: "131072" });
  });

  it("the image's node flags keep V8 from memory-reducing collections while NMI is idle (ADR 4, fifth addendum)", () => {
    const image = shippedLaunch();
    // A burst of garbage, then a quiet spell: V8's memory reducer would collect ("Mark-Compact (reduce)") about
    // 8 s after the allocation stopped — the collection that puts Node's tick objects on V8's slow path.
    const script = "let k=[];const t=Date.now()+1500;while(Date.now()<t){k.push(new Array(100).fill(Math.random()));if(k.length>2000)k=[]}k=[];setTimeout(()=>{},12000)";
    const run = spawnSync(process.execPath, [...image.nodeFlags, "--trace-gc", "-e", script], { encoding: "utf8", timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Scavenge/);
    expect(run.stdout).not.toMatch(/\(reduce\)/);
  }, 60_000);

  it("the image's node flags keep V8 from pretenuring allocation sites (ADR 4, eleventh addendum)", () => {
    const image = shippedLaunch();
    // Objects of one literal site that survive young-generation collections: V8's default decides to allocate
    // that site's objects in the old generation from then on ("=> tenure"), as it did for Node's request state
    // in a busy NMI, where those objects then died in the old generation. V8 counts survivors through mementos
    // that only unoptimised code leaves, so `make` is kept unoptimised: the decision then comes at every run, not
    // only when it falls before the optimising compiler finishes.
    const script =
      "function make(i){return {a:i,b:i+1,c:null,d:null}}%NeverOptimizeFunction(make);let keep=[];for(let r=0;r<40;r++){const b=[];for(let i=0;i<20000;i++)b.push(make(i));keep.push(b);if(keep.length>8)keep.shift()}";
    const traced = (flags: readonly string[]) =>
      spawnSync(process.execPath, [...flags, "--allow-natives-syntax", "--trace-pretenuring-statistics", "-e", script], { encoding: "utf8", timeout: 60_000 });
    // The probe sees the decision where V8 may take it (the image's other flags, V8's default for this one) …
    const withDefault = traced(image.nodeFlags.filter((f) => f !== "--no-allocation-site-pretenuring"));
    expect(withDefault.status, withDefault.stderr).toBe(0);
    expect(withDefault.stdout).toMatch(/=> tenure/);
    // … and the image's flags never let it be taken.
    const shipped = traced(image.nodeFlags);
    expect(shipped.status, shipped.stderr).toBe(0);
    expect(shipped.stdout).not.toMatch(/=> tenure/);
  }, 60_000);

  const dir = mkdtempSync(join(tmpdir(), "podid-nmi-image-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the image's bundle starts without loading undici", () => {
    ensureBuilt();
    const image = buildNmiImageEntry(ROOT, dir);
    const probe = `data:text/javascript,process.on("exit",()=>process.stderr.write("undici-loaded="+process.moduleLoadList.some((m)=>m.includes("undici"))+"\\n"))`;
    // `--help` loads every module main.mjs imports statically, prints the flags and exits.
    const run = spawnSync(process.execPath, [...image.nodeFlags, `--import=${probe}`, image.entry, "--help"], { encoding: "utf8", timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/--nmi-port/);
    expect(run.stderr).toContain("undici-loaded=false");
  }, 180_000);
});
