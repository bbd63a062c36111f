import { describe, expect, it } from "vitest";
import { SLOW_STATE_SHARE, slowPathShare } from "./v8-slow-path.js";

/** The head of `perf report --no-children --sort sym --stdio` as perf prints it. */
const HEAD = `# To display the perf.data header info, please use --header/--header-only options.
#
# Total Lost Samples: 0
#
# Samples: 7K of event 'cpu-clock:ppp'
# Event count (approx.): 1994000000
#
# Overhead  Symbol
# ........  ......
#
`;

/** Rows of a bare server sampled in the slow state under bench:nmi (an A/A run of this session). */
const SLOW = `${HEAD}     4.04%  [k] _raw_spin_unlock_irqrestore
     1.22%  [.] Builtins_RecordWriteSaveFP
     1.05%  [.] Builtins_LoadIC_Megamorphic
     1.74%  [.] v8::internal::Runtime_DefineKeyedOwnPropertyInLiteral
     1.29%  [.] v8::internal::JSObject::MigrateToMap
     1.10%  [.] v8::internal::FeedbackNexus::ic_state
     0.87%  [.] v8::internal::TransitionsAccessor::IsMatchingMap
     0.83%  [.] v8::internal::Map::TransitionToDataProperty
     0.76%  [.] v8::internal::LookupIterator::ApplyTransitionToDataProperty
     0.72%  [.] v8::internal::LookupIterator::PrepareTransitionToDataProperty
     0.42%  [.] v8::internal::JSObject::DefineOwnPropertyIgnoreAttributes
     0.34%  [.] v8::internal::Object::TransitionAndWriteDataProperty
     0.19%  [k] tcp_ack_update_rtt
`;

/** Rows of a healthy server: the same functions appear, if at all, at 0.00 %. */
const HEALTHY = `${HEAD}     4.04%  [k] _raw_spin_unlock_irqrestore
     1.20%  [.] Builtins_FindOrderedHashMapEntry
     0.63%  [.] v8::internal::ScavengerCollector::CollectGarbage
     0.00%  [.] v8::internal::JSObject::MigrateToMap
     0.00%  [.] v8::internal::Map::TransitionToDataProperty
`;

describe("slowPathShare", () => {
  it("sums the slow path's functions of a report and reads the sample count", () => {
    const sample = slowPathShare(SLOW);
    expect(sample.samples).toBe(7000);
    expect(sample.share).toBeCloseTo((1.74 + 1.29 + 1.1 + 0.87 + 0.83 + 0.76 + 0.72 + 0.42 + 0.34) / 100, 6);
    expect(sample.share).toBeGreaterThan(SLOW_STATE_SHARE);
  });

  it("reads a healthy server as 0 %, whatever else it spends its time on", () => {
    const sample = slowPathShare(HEALTHY);
    expect(sample.share).toBe(0);
    expect(sample.share).toBeLessThan(SLOW_STATE_SHARE);
  });

  it("counts only V8's own functions, not look-alike names or JavaScript frames", () => {
    const report = `${HEAD}     2.00%  [.] JS:*MigrateToMap file:///app/x.js:1:1
     3.00%  [.] Builtins_DefineKeyedOwnIC_Megamorphic
     4.00%  [.] v8::internal::Map::TransitionToDataPropertyFoo
     0.50%  [.] v8::internal::JSObject::MigrateToMap
`;
    expect(slowPathShare(report).share).toBeCloseTo(0.005, 6);
  });

  it("reads sample counts without a suffix and in millions", () => {
    expect(slowPathShare("# Samples: 812 of event 'cpu-clock:ppp'\n").samples).toBe(812);
    expect(slowPathShare("# Samples: 1.2M of event 'cycles'\n").samples).toBe(1_200_000);
    expect(slowPathShare("").samples).toBe(0);
  });
});
