export * from "./controller/index.js";
