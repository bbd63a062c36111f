/**
 * Keeps idle CPUs polling instead of halting while a benchmark runs, through Linux's PM QoS interface: a
 * process that holds `/dev/cpu_dma_latency` open with a 0 µs latency request makes cpuidle pick its polling
 * state (`POLL`) for every idle CPU until the descriptor is closed (the same knob tuned's latency-performance
 * profile and cyclictest use).
 *
 * Why `bench:nmi` wants it (docs/adr/0004-nmi-hot-path-memo-and-raw-writes.md, third addendum): on this
 * virtual machine an idle vCPU halts, and waking it again costs the waker an inter-processor interrupt and a
 * VM exit. Every answer a server writes wakes wrk on the other CPU; the slower the server, the more often wrk
 * has gone idle in between, so the slower server paid that wake-up inside its own `writev` — the
 * benchmark read more than the server's own extra work into its CPU time per request. With idle CPUs
 * polling, a wake-up is a flag the polling CPU sees at once, for the bare server and NMI alike.
 * @packageDocumentation
 */
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from "node:fs";

/** The device of the CPU latency QoS request. */
export const CPU_LATENCY_DEVICE = "/dev/cpu_dma_latency";

/** A held latency request: {@link release} ends it (closing the descriptor is what the kernel watches). */
export interface IdlePollHold {
  /** What is in force, for the benchmark's header line. */
  readonly description: string;
  readonly active: boolean;
  release(): void;
}

/**
 * Asks for 0 µs wake-up latency (idle CPUs poll) until {@link IdlePollHold.release}; when the device cannot be
 * opened (not root, no such device) nothing is held and `description` says why. The request only has an effect
 * through cpuidle's polling state: on a kernel without a cpuidle driver (CPU 0 has no `POLL` state under
 * `cpuRoot`, as on some virtual machines) idle CPUs halt whatever is asked, so the hold is not `active` and its
 * description says so instead of claiming polling.
 */
export function holdIdlePolling(device = CPU_LATENCY_DEVICE, cpuRoot = "/sys/devices/system/cpu"): IdlePollHold {
  if (!idleStateUsage(0, cpuRoot).has("POLL")) {
    return { description: `idle CPUs halt as usual (no cpuidle polling state in ${cpuRoot}/cpu0/cpuidle, so ${device} would change nothing)`, active: false, release: () => undefined };
  }
  let fd: number;
  try {
    fd = openSync(device, "w");
    // The device takes a binary s32 (4 bytes) or text; 4 zero bytes = "no exit latency allowed".
    writeSync(fd, Buffer.alloc(4));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return { description: `idle CPUs halt as usual (${device} not held: ${reason})`, active: false, release: () => undefined };
  }
  let open = true;
  return {
    description: `idle CPUs poll during the runs (${device} held at 0 µs)`,
    active: true,
    release: () => {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  };
}

/** How often each cpuidle state of `cpu` was entered so far, by state name (`POLL`, `haltpoll idle`, `C1`, …); empty without cpuidle. */
export function idleStateUsage(cpu: number, root = "/sys/devices/system/cpu"): ReadonlyMap<string, number> {
  const dir = `${root}/cpu${String(cpu)}/cpuidle`;
  const usage = new Map<string, number>();
  let states: string[];
  try {
    states = readdirSync(dir).filter((s) => /^state\d+$/.test(s));
  } catch {
    return usage;
  }
  for (const state of states) {
    const name = readFileSync(`${dir}/${state}/name`, "utf8").trim();
    usage.set(name, Number(readFileSync(`${dir}/${state}/usage`, "utf8").trim()));
  }
  return usage;
}
