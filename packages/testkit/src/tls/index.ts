export * from "./test-certificate-authority.js";
