import { defineProject } from "vitest/config";

/**
 * The vitest project of one package or of the harness: its tests are `src/**\/*.test.ts`, run in Node against the
 * packages' TypeScript sources (the `@podid/source` export condition), with one rule for how test files share
 * worker processes.
 *
 * Why `isolate: false` (each worker runs file after file and keeps the modules it imported): with a fresh worker
 * per file, importing the module graph again for every file took about 330 s of a 770 s run on a two-CPU CI machine
 * — more than the tests of most packages themselves. Every project passes with it; test files keep to their own
 * state (servers, namespaces, timers and environment made in a file are ended by that file), which isolation would
 * otherwise have hidden.
 *
 * Why two groups: `pure` projects (core, daemon-shell: functions, state machines, no processes, sockets or clocks
 * of their own) run first, two files at a time; every other project runs after them with vitest's default worker
 * count (the CPUs less one), so the timing-sensitive process, network-namespace and load tests never share the
 * machine with those CPU-bound property tests.
 *
 * Why pure projects get 20 s per test: a property test's time is its run count times the machine's speed, and
 * vitest's 5 s default is a wall-clock bound; a core property test that takes 3.4 s here timed out on a slower CI
 * machine. Pure code has nothing to wait on, so the bound only ever catches an endless loop, and 20 s still does.
 */
export function podidProject(name: string, options: { readonly pure?: boolean } = {}) {
  return defineProject({
    resolve: { conditions: ["@podid/source"] },
    ssr: { resolve: { conditions: ["@podid/source"] } },
    test: {
      name,
      include: ["src/**/*.test.ts"],
      environment: "node",
      isolate: false,
      sequence: { groupOrder: options.pure === true ? 0 : 1 },
      ...(options.pure === true ? { maxWorkers: 2, testTimeout: 20_000 } : {}),
    },
  });
}
