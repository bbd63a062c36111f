export * from "./arbitraries/index.js";
export * from "./scenarios/index.js";
export * from "./clock/index.js";
export * from "./fakes/index.js";
export * from "./tls/index.js";
export * from "./azure/index.js";
export * from "./kube-apiserver/index.js";
export * from "./netns/index.js";
