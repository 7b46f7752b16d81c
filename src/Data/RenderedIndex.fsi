/// One protocol's index of a rendered benchmark (`DatasetRender.writeBenchmark`:
/// `<root>/<protocol>/index.jsonl`, one JSON object per image) and its images as planar bytes:
/// what the multi-view and the single-view loaders share.
module internal Reconstruct.Data.RenderedIndex

/// What a rendered image has and a photograph does not.
type Truth =
    { /// The ground-truth mesh file (absolute path).
      Mesh: string
      /// The true camera, angles in degrees as in the index.
      View: DatasetRender.View }

/// One row of the index, checked.
type Row =
    { /// 1-based line in the index file.
      Line: int
      /// The image file, resolved against the index's folder.
      Image: string
      Instance: string
      Category: string
      Split: string
      /// None for an image without ground truth (an imported photograph).
      Truth: Truth option }

/// `<protocolDir>/index.jsonl` (absolute) and its rows in file order. Each row needs strings
/// "image", "instance", "category", "split", and either both or neither of "mesh" (relative to
/// the index's folder, or absolute) and "view" with numbers "azimuth", "elevation" (degrees)
/// and "distance"; "roll"
/// (degrees), "scale" and "shift" ([x, y]) may be absent (0, 1, [0, 0], the multi-view camera)
/// but not malformed. A missing or malformed index or row: one `IndexFileException` naming the
/// file and the line.
val read: protocolDir: string -> string * Row[]

/// The error for a split without rows in the index at `indexPath` (it lists the splits of
/// `rows`).
val noRowsOfSplit: indexPath: string -> split: string -> rows: Row[] -> exn

/// Fails with one `IndexFileException` when `row` gives another mesh or category for its
/// instance than `first`, the instance's first row.
val checkSameInstance: indexPath: string -> first: Row -> row: Row -> unit

/// The row's ground truth; one `IndexFileException` naming the index, the line and the image
/// when it has none.
val truthOf: indexPath: string -> row: Row -> Truth

/// The image file as height, width and (4, H, W) planar RGBA bytes (grey and RGB get an opaque
/// alpha). A missing, unreadable or corrupt file raises `ImageFileException`.
val decodeRgba: path: string -> int * int * byte[]

/// (4, H, W) planar RGBA bytes composited over the grey `level` (255: white): (3, H, W) bytes,
/// each channel (c·a + level·(255 − a))/255 rounded to the nearest integer (alpha straight, not
/// premultiplied).
val compositeOver: level: byte -> rgba: byte[] -> byte[]

/// `compositeOver 255uy`.
val compositeOnWhite: rgba: byte[] -> byte[]

/// Writes `count` bytes of `source` from `sourceOffset` as float32 b / 255 into `target`
/// from `targetOffset`.
val toUnit: source: byte[] -> sourceOffset: int -> target: float32[] -> targetOffset: int -> count: int -> unit

/// Fails (ArgumentException naming `fn`, e.g. "MultiView.batch") unless the batch size is
/// positive.
val checkBatchSize: fn: string -> batchSize: int -> unit

/// Fails (ArgumentException naming `fn`) unless the batch size is positive, the epoch ≥ 0 and
/// `count` items of the split (`what`, e.g. "instances") fill a batch; `index` is the index file
/// named in the message.
val checkEpoch: fn: string -> what: string -> count: int -> split: string -> index: string -> batchSize: int -> epoch: int -> unit

/// The batches `start` .. `count - 1` of an epoch, made lazily by `make order index` with the
/// epoch's `order` computed once when enumeration starts; `start` must be in 0..count
/// (ArgumentException naming `fn`).
val epochBatches: fn: string -> count: int -> batchSize: int -> start: int -> order: (unit -> int[]) -> make: (int[] -> int -> 'T) -> seq<'T>

/// Fails (ArgumentException naming `fn`) unless `index` is a batch of an epoch of `count`.
val checkBatchIndex: fn: string -> count: int -> batchSize: int -> index: int -> unit
