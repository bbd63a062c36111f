import { podidProject } from "../../vitest.project.js";

export default podidProject("core", { pure: true });
