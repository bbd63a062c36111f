import { podidProject } from "../../vitest.project.js";

export default podidProject("nmi-server");
