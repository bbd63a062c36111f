export * from "./cluster-objects.js";
