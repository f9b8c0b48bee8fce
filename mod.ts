export * from "./core/errors.ts";
export * from "./core/model.ts";
export type * from "./runtimes/runtime.ts";
export type * from "./transports/transport.ts";
