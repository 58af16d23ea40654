// SPDX-License-Identifier: MIT
// Types of the profile2metrics ES module (src/index.js).

export declare const Status: Readonly<{
  OK: 0; MALFORMED: 1; INVALID_REFERENCE: 2; CONFIG: 3; MEMORY: 4;
  OUTPUT_TOO_SMALL: 5; ARGUMENT: 6; UNSUPPORTED: 7;
}>;

export declare const FORMATS: readonly string[];
export declare const INPUTS: readonly string[];

export declare class P2MError extends Error {
  readonly status: number;
  readonly statusName: string;
  readonly offset: number;
  readonly field: string;
  readonly detail: string;
  readonly needed: number;
}

export interface Stats {
  bytesIn: number; bytesOut: number; layout: string; resources: number; profiles: number;
  profilesUnclassified: number; samples: number; samplesKept: number;
  droppedProcess: number; droppedThread: number; droppedPattern: number;
  emptySamples: number; invalidReferences: number; series: number;
  overflowSamples: number; workUsed: number; regexSearches: number;
  profilesUnfed: number; samplesUnfed: number; layoutEvidence: string;
  layoutConflict: boolean;
  /** Samples the stack filter dropped. */
  droppedStack: number;
}

export interface CreateOptions {
  /** Where the .wasm is: a URL, its bytes, or a compiled module. */
  wasm?: string | URL | ArrayBuffer | ArrayBufferView | WebAssembly.Module;
}

export interface ConvertOptions {
  /** Unix nanoseconds for profiles without a time (default: now). */
  now?: bigint | number;
  /** "otlp" (default): an ExportProfilesServiceRequest; "pprof": one pprof
   *  Profile (gzip'd: inflated in Node, refused in browsers). */
  input?: "otlp" | "pprof";
}

export declare class Converter {
  static create(config?: object | string, options?: CreateOptions): Promise<Converter>;
  readonly cumulative: boolean;
  readonly stats: Readonly<Stats> | null;
  readonly version: string;
  reset(): void;
  convert(input: Uint8Array | ArrayBuffer, format?: "otlp" | ConvertOptions,
          options?: ConvertOptions): Uint8Array;
}
