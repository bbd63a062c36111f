import { podidProject } from "../../vitest.project.js";

export default podidProject("adapter-iptables");
