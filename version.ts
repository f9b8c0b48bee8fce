/** berth's version; kept equal to package.json and deno.json (a test checks). */
export const VERSION = "0.1.0";
