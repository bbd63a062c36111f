import { x } from "@podid/core";
export const y = x + 1;
