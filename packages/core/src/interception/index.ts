export * from "./interception-spec.js";
export * from "./iptables-rule.js";
export * from "./iptables-ruleset.js";
export * from "./desired-rules.js";
export * from "./interception-drift.js";
export * from "./restore-script.js";
export * from "./restore-model.js";
