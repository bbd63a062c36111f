import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import { err, ok, type Result } from "@podid/core";
import { describeAzureConfigError, type AzureConfigError } from "./azure-config-error.js";
import type { AzureConfig } from "./azure-config.js";
import { loadAzureConfig } from "./load-azure-config.js";

/** Options of {@link AzureConfigWatcher}. */
export interface AzureConfigWatcherOptions {
  /** Path of `azure.json`. */
  readonly path: string;
  /** Environment (for `AZURE_ENVIRONMENT_FILEPATH`); default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Quiet time after the last file event before reloading (editors and kubelet write in steps); default 200 ms. */
  readonly debounceMs?: number;
  /**
   * Interval of the polling fallback, which also runs while `fs.watch` works: inotify misses changes on
   * some volume types and after the watched directory is replaced. Default 10 s; 0 disables polling.
   */
  readonly pollIntervalMs?: number;
  /** Called with each new, valid configuration that differs from the previous one. */
  readonly onChange: (config: AzureConfig) => void;
  /** Called when a reload fails; the previous configuration stays in force. Each distinct failure is reported once. */
  readonly onError?: (error: AzureConfigError) => void;
}

/**
 * Watches `azure.json` and reloads it when it changes, so rotated service-principal secrets take effect
 * without a restart (the original re-initialised its cloud client on fsnotify Write events). It watches
 * the file's directory, which also sees atomic renames and the symlink swaps of Kubernetes Secret and
 * ConfigMap volumes, debounces bursts of events, and polls as a fallback. A configuration is emitted only
 * when its content differs from the current one; an invalid file is reported and ignored.
 */
export class AzureConfigWatcher {
  readonly #options: AzureConfigWatcherOptions;
  #current: AzureConfig;
  #currentKey: string;
  #lastErrorKey: string | undefined;
  #watcher: FSWatcher | undefined;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #poll: ReturnType<typeof setInterval> | undefined;
  #checking: Promise<void> | undefined;
  #again = false;
  #closed = false;

  private constructor(options: AzureConfigWatcherOptions, initial: AzureConfig) {
    this.#options = options;
    this.#current = initial;
    this.#currentKey = JSON.stringify(initial);
  }

  /** Loads the file once (failing when it is missing or invalid) and starts watching it. */
  static async start(options: AzureConfigWatcherOptions): Promise<Result<AzureConfigWatcher, AzureConfigError>> {
    if (options.path.trim() === "") return err({ kind: "unreadable", path: "", message: "no azure.json path to watch (environment variables are read once)" });
    const initial = await loadAzureConfig({ path: options.path, ...(options.env !== undefined ? { env: options.env } : {}) });
    if (!initial.ok) return err(initial.error);
    const watcher = new AzureConfigWatcher(options, initial.value);
    watcher.#startWatching();
    return ok(watcher);
  }

  /** The configuration in force. */
  get current(): AzureConfig {
    return this.#current;
  }

  /** Re-reads the file now (also what file events and polls do); resolves when the check is done. */
  async check(): Promise<void> {
    if (this.#closed) return;
    if (this.#checking !== undefined) {
      this.#again = true;
      return this.#checking;
    }
    this.#checking = (async () => {
      do {
        this.#again = false;
        await this.#reload();
      } while (this.#again && !this.#closed);
    })().finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  /** Stops watching and polling. */
  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    this.#watcher = undefined;
    if (this.#debounce !== undefined) clearTimeout(this.#debounce);
    if (this.#poll !== undefined) clearInterval(this.#poll);
  }

  #startWatching(): void {
    const name = basename(this.#options.path);
    try {
      this.#watcher = watch(dirname(this.#options.path), { persistent: false }, (_event, filename) => {
        // Kubernetes volumes swap a `..data` symlink; anything else in the directory is not ours.
        if (filename === null || filename === name || filename.startsWith("..")) this.#schedule();
      });
      this.#watcher.on("error", () => {
        // The directory went away or inotify failed: polling carries on alone.
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch {
      this.#watcher = undefined;
    }
    const interval = this.#options.pollIntervalMs ?? 10_000;
    if (interval > 0) {
      this.#poll = setInterval(() => void this.check(), interval);
      this.#poll.unref();
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    if (this.#debounce !== undefined) clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      void this.check();
    }, this.#options.debounceMs ?? 200);
    this.#debounce.unref();
  }

  async #reload(): Promise<void> {
    const loaded = await loadAzureConfig({ path: this.#options.path, ...(this.#options.env !== undefined ? { env: this.#options.env } : {}) });
    if (this.#closed) return;
    if (!loaded.ok) {
      const key = describeAzureConfigError(loaded.error);
      if (key !== this.#lastErrorKey) {
        this.#lastErrorKey = key;
        this.#options.onError?.(loaded.error);
      }
      return;
    }
    this.#lastErrorKey = undefined;
    const key = JSON.stringify(loaded.value);
    if (key === this.#currentKey) return;
    this.#current = loaded.value;
    this.#currentKey = key;
    this.#options.onChange(loaded.value);
  }
}
