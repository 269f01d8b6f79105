/**
 * What the control plane hands one batch worker (`wharf job-worker --task FILE`), and what the
 * worker leaves in its work directory: the contract between the job controller (which plans,
 * launches, resumes and reports jobs) and the batch engine (which streams the input through ONNX
 * Runtime in process and writes the output). A worker started again on the same `workDir` resumes
 * where the last one stopped, without losing or duplicating an output row.
 *
 * Files the worker keeps in `workDir`, each replaced atomically (write + rename):
 * - `progress.json` — a {@link BatchProgress}, rewritten after each committed part;
 * - `result.json` — a {@link BatchResult}, written once when the worker ends on its own.
 *
 * Exit codes: {@link BATCH_EXIT}.
 */

/** Where rows come from and how they are read. */
export interface BatchInput {
  /** A local path (file or directory of files read in name order) or `s3://bucket/prefix`. */
  readonly url: string;
  /** JSON Lines (one OIP `inputs` object or one feature array per line) or CSV with a header. */
  readonly format: 'jsonl' | 'csv';
  /** `auto` (default): gzip when the name ends in `.gz` or the bytes start with gzip's magic. */
  readonly compression?: 'auto' | 'gzip' | 'none';
  /** CSV: the columns that make the input tensor's features, in order (default: every column but `idField`). */
  readonly columns?: readonly string[];
  /** The field (JSONL) or column (CSV) that identifies a row; default: the row's line number. */
  readonly idField?: string;
}

/** Where results go and what each output row carries besides the prediction. */
export interface BatchOutput {
  /** A local file path or `s3://bucket/key`; parts are assembled into it in input order. */
  readonly url: string;
  readonly format: 'jsonl' | 'csv';
  /** Input columns (CSV) or fields (JSONL) copied into each output row; the row id always is. */
  readonly joinColumns?: readonly string[];
}

/** One batch job (or one shard of it) as a worker runs it. */
export interface BatchTask {
  readonly jobId: string;
  readonly model: {
    readonly name: string;
    readonly version: string;
    /** Local path of the ONNX artifact (verified against `digest` before the first run). */
    readonly artifactPath: string;
    readonly digest: string;
  };
  readonly input: BatchInput;
  readonly output: BatchOutput;
  /** Rows per ONNX Runtime run. */
  readonly batchSize: number;
  /** Batches in flight at once in this worker. */
  readonly concurrency: number;
  /** Failed rows allowed before the job fails: a count, or a percentage of the rows read. */
  readonly errorThreshold: { readonly count?: number; readonly percent?: number };
  /** Per batch: time limit and retries before its rows count as failed. */
  readonly batchTimeoutMs: number;
  readonly retries: number;
  /** Kubernetes indexed Jobs: this worker's share of the input (`index` of `count`). */
  readonly shard?: { readonly index: number; readonly count: number };
  /** Checkpoints, output parts, the error file, progress.json and result.json live here. */
  readonly workDir: string;
}

/** What a running worker reports (`workDir/progress.json`). */
export interface BatchProgress {
  readonly rowsDone: number;
  readonly rowsFailed: number;
  /** Known once the input has been read to the end (or sized up front). */
  readonly rowsTotal?: number;
  readonly partsDone: number;
  readonly rowsPerSecond: number;
  readonly updatedAt: string;
}

/** How a worker ended (`workDir/result.json`). */
export interface BatchResult extends BatchProgress {
  readonly outcome: 'succeeded' | 'failed';
  /** Why it failed (e.g. past `errorThreshold`: "1203 rows failed, more than 1%"). */
  readonly message: string;
  /** Where the assembled output and the error file (one JSON line per failed row: line, id, reason) are. */
  readonly output: string;
  readonly errors: string;
}

/** Exit codes of `wharf job-worker`: anything else is a crash, and the controller starts it again. */
export const BATCH_EXIT = { succeeded: 0, failed: 3, invalidTask: 2 } as const;
