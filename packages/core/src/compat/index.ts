export * from "./go-flag-syntax.js";
