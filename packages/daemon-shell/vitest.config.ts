import { podidProject } from "../../vitest.project.js";

export default podidProject("daemon-shell", { pure: true });
