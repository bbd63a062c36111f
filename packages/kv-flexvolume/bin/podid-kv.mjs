#!/usr/bin/env node
// `podid-kv`: the FlexVolume `azure/kv` driver. A launcher kept outside dist/ so that npm links it at install time, before the
// first build, and so that an old Node.js gets one line instead of a stack trace from syntax it cannot parse.
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(`podid-kv: needs Node.js >= 22.19, found ${process.version}; install Node.js 22 (in the podid repository, npm scripts and npx use the Node 22 that npm ci installs)\n`);
  process.exit(2);
}
await import("../dist/main.js");
