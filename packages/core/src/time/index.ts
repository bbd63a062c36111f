export * from "./timer-clock.js";
