export * from "./scale-cluster.js";
