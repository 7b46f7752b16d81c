/// Training images for UNICORN: every image of one protocol of a rendered benchmark
/// (`DatasetRender.writeBenchmark`) is one sample on its own — `multiview`: the 24 views of
/// each instance used as single images, as UNICORN uses ShapeNet's renders; `wild<size>`: the
/// `WildViews` random views of each instance over random backgrounds. A training batch carries
/// the images and nothing the model could learn from besides (no view, no instance, no mask);
/// the cameras, instances and meshes are reached through the accessors below, for evaluation
/// only.
///
/// `load` decodes every image of a split once into memory as RGB bytes, RGBA composited on
/// white (3·H·W bytes per image: 295 MB for 1000 instances × 24 views of 64²). The order of an
/// epoch is a pure function of (seed, epoch), so a resumed run rebuilds any batch (`batch`)
/// without the ones before it.
module Reconstruct.Data.SingleView

open System
open Reconstruct.Torch

/// One split of one protocol, decoded. Samples are numbered 0 .. Count-1 in index order (bad
/// images left out); instances 0 .. Instances-1 in the order of their first sample.
[<Sealed>]
type Set =
    /// The index file read (absolute).
    member Index: string
    member Split: string
    /// Images (samples) in the split that decoded.
    member Count: int
    /// Distinct instances among the samples.
    member Instances: int
    /// Image height and width in pixels (the same for every sample).
    member Height: int
    member Width: int
    /// Images of the split that were left out, in index order: (image path, why) — a file
    /// missing, unreadable or corrupt, or of another size than the split's first good image.
    /// For the caller to report once.
    member Failures: (string * string) list
    /// Whether every image has its ground truth (mesh and camera): rendered benchmarks do,
    /// imported photographs (`Photos.import`) do not.
    member HasTruth: bool

/// A batch of B single images. It owns `Images`: dispose it, or let the disposal scope current
/// when it was made (or handed over by `prefetch`) free it.
type Batch =
    { /// (B, 3, H, W) float32 RGB in [0, 1].
      Images: Tensor
      /// The B sample numbers (for evaluation and logs; never an input of the model).
      Samples: int[]
      Epoch: int
      /// 0-based number of the batch within its epoch.
      Index: int }

    interface IDisposable

/// Reads `<protocolDir>/index.jsonl` (e.g. `<benchmark>/multiview`, `<benchmark>/wild64`),
/// keeps the rows of `split` and decodes each row's image once (in parallel). Rows are read as
/// by `MultiView.load` (strings "image", "instance", "category", "split", "mesh"; "view" with
/// numbers "azimuth", "elevation", "distance", and "roll", "scale", "shift" when present),
/// except that "mesh" and "view" may both be absent, as for imported photographs. An
/// image that cannot be used is kept in `Failures` and left out; the rest loads. A missing or
/// malformed index or row, an instance with two meshes, a split without rows or without one
/// good image: one `IndexFileException` naming the index file (and the line).
val load: protocolDir: string -> split: string -> Set

/// `load` with the alpha composited over the grey `background` (255: white, as `load`).
val loadOver: background: byte -> protocolDir: string -> split: string -> Set

/// Batches in an epoch of `batchSize` samples: Count / batchSize, the incomplete rest dropped.
val batchesPerEpoch: set: Set -> batchSize: int -> int

/// Batch `index` (0-based) of epoch `epoch` under `seed`, made directly: the epoch's sample
/// order is a permutation drawn from (seed, epoch), so any batch can be replayed without the
/// others. Its tensor is new, in the current disposal scope.
val batch: set: Set -> seed: uint64 -> batchSize: int -> epoch: int -> index: int -> Batch

/// The batches of epoch `epoch` from number `start` on (0 ≤ start ≤ batchesPerEpoch), made
/// lazily as the sequence advances (the same batches as `batch`); start 0 is the whole epoch,
/// every sample at most once. Fails at once when the split has fewer samples than a batch.
val epochFrom: set: Set -> seed: uint64 -> batchSize: int -> epoch: int -> start: int -> seq<Batch>

/// `Loader.prefetchWith` for these batches: made on a background thread, at most `depth`
/// ahead, handed to the consumer's disposal scope.
val prefetch: depth: int -> batches: seq<Batch> -> seq<Batch>

/// The true camera of sample `sample` as its index row gives it (degrees, object units).
/// Evaluation only; an `IndexFileException` naming the index for a photograph.
val view: set: Set -> sample: int -> DatasetRender.View

/// The instance of sample `sample`.
val instanceOf: set: Set -> sample: int -> int

/// The id of instance `instance` (as in the index).
val id: set: Set -> instance: int -> string

/// The ground-truth mesh file of instance `instance` (absolute path); an `IndexFileException`
/// naming the index for a photograph.
val meshPath: set: Set -> instance: int -> string

/// The image of sample `sample`: (1, 3, H, W) float32 RGB in [0, 1], as in a batch; a new
/// tensor of the current disposal scope.
val image: set: Set -> sample: int -> Tensor

/// The image file of sample `sample` as its index row names it, resolved against the index's
/// folder: the key to whatever else the row holds (a symmetric render's depth map).
val imagePath: set: Set -> sample: int -> string

/// The samples whose row is row `viewIndex` (0-based) among its instance's rows of the split
/// (bad images counted), in instance order: for `multiview`, the view at azimuth 15°·viewIndex
/// of every instance — one fixed view per instance, as SoftRas' evaluation takes. An instance
/// whose image at that row was left out has no sample here.
val samplesOfView: set: Set -> viewIndex: int -> int[]
