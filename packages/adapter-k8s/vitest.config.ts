import { podidProject } from "../../vitest.project.js";

export default podidProject("adapter-k8s");
