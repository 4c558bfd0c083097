import type { Check } from "../src/types.js";
export function checkList(checks: readonly Check[]): string;
export function replaceCheckList(readme: string, list: string): string;
