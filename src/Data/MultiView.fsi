/// Training batches over the multi-view protocol of a rendered benchmark
/// (`DatasetRender.writeBenchmark`: `<root>/multiview/index.jsonl`, 24 RGBA 64×64 views per
/// instance): for SoftRas, each item is one object seen from two different random views a, b,
/// with both cameras (peers.md §B.1).
///
/// `load` decodes every image of a split once into memory, as bytes (V·4·H·W per instance:
/// 393 KB at 24 views of 64², 0.4 GB for 1000 instances); batches are made from that cache.
/// The instance order and the view pairs of an epoch are a pure function of (seed, epoch), so a
/// resumed run rebuilds any batch (`batch`) without the ones before it.
module Reconstruct.Data.MultiView

open System
open Reconstruct.Torch

/// One split of a multi-view benchmark, decoded. Instances are numbered 0 .. Count-1 in the
/// order of their first row in the index; views 0 .. Views-1 in the order of their rows.
[<Sealed>]
type Set =
    /// The index file read (absolute).
    member Index: string
    member Split: string
    /// Instances in the split.
    member Count: int
    /// Views per instance (the same for every instance).
    member Views: int
    /// Image height and width in pixels (the same for every image).
    member Height: int
    member Width: int

/// A batch of B objects, each seen from views a and b (a ≠ b). It owns its tensors: dispose
/// it, or let the disposal scope current when it was made (or handed over by `prefetch`) free
/// them.
type Batch =
    { /// (B, 4, H, W) float32 RGBA in [0, 1], straight (not premultiplied) alpha: view a.
      ImagesA: Tensor
      /// (B, 4, H, W) float32 RGBA in [0, 1]: view b of the same objects.
      ImagesB: Tensor
      /// (B) float32 radians, as in the index (converted from degrees).
      AzimuthA: Tensor
      /// (B) float32 radians.
      ElevationA: Tensor
      /// (B) float32, object units.
      DistanceA: Tensor
      AzimuthB: Tensor
      ElevationB: Tensor
      DistanceB: Tensor
      /// The B instance numbers (into the set).
      Instances: int[]
      /// The B view numbers of a, and of b.
      ViewsA: int[]
      ViewsB: int[]
      Epoch: int
      /// 0-based number of the batch within its epoch.
      Index: int }

    /// The batch's eight tensors.
    member Tensors: Tensor list

    interface IDisposable

/// One instance of a multi-view benchmark as its index rows give it, without images.
type Entry =
    { Id: string
      Category: string
      Split: string
      /// The ground-truth mesh file (absolute path).
      Mesh: string }

/// The instances of `<root>/multiview/index.jsonl` of every split, in the order of their first
/// rows; the rows are checked as by `load` (the images are not read). For evaluation.
val entries: root: string -> Entry[]

/// Reads `<root>/multiview/index.jsonl`, keeps the rows of `split`, groups them by instance and
/// decodes every image once (in parallel). Each row needs "image", "instance", "category",
/// "split", "mesh" (relative to the index's folder, or absolute) and "view" with numbers
/// "azimuth", "elevation" (degrees) and "distance". A missing or malformed index, a row without
/// a field, an instance with another number of views than the first, an image that is missing,
/// unreadable or of another size: one `IndexFileException` naming the index file, the line
/// and what is wrong (with the image's path). A split without rows is an error too.
val load: root: string -> split: string -> Set

/// Batches in an epoch of `batchSize` objects: Count / batchSize, the incomplete rest dropped.
val batchesPerEpoch: set: Set -> batchSize: int -> int

/// Batch `index` (0-based) of epoch `epoch` under `seed`, made directly: the epoch's instance
/// order is a permutation drawn from (seed, epoch), and the views of the object at position k
/// of that order from (seed, epoch, k), so any batch can be replayed without the others. Its
/// tensors are new, in the current disposal scope.
val batch: set: Set -> seed: uint64 -> batchSize: int -> epoch: int -> index: int -> Batch

/// The `batchesPerEpoch` batches of epoch `epoch`, made lazily as the sequence advances (the
/// same batches as `batch`). Fails at once when the split has fewer instances than a batch.
val epoch: set: Set -> seed: uint64 -> batchSize: int -> epoch: int -> seq<Batch>

/// The batches of epoch `epoch` from number `start` on (0 ≤ start ≤ batchesPerEpoch), for a
/// resumed run: the earlier batches are not made (`Seq.skip` over `epoch` would make them and
/// leave their tensors to the disposal scope).
val epochFrom: set: Set -> seed: uint64 -> batchSize: int -> epoch: int -> start: int -> seq<Batch>

/// `batches` batches of epoch `epoch` from number `start` on, each of `batchSize` objects drawn
/// uniformly with replacement (PyTorch's RandomSampler with replacement, as SSR samples its few
/// labelled objects), each object seen from two different random views. Batch `index` is a pure
/// function of (seed, epoch, index), so a resumed run makes it again; a set smaller than the
/// batch is fine.
val drawnFrom: set: Set -> seed: uint64 -> batchSize: int -> batches: int -> epoch: int -> start: int -> seq<Batch>

/// `Loader.prefetchWith` for these batches: made on a background thread, at most `depth`
/// ahead, handed to the consumer's disposal scope.
val prefetch: depth: int -> batches: seq<Batch> -> seq<Batch>

/// Instance ids, in instance order.
val ids: set: Set -> string[]

/// The id of instance `i`.
val id: set: Set -> i: int -> string

/// The category of instance `i`.
val category: set: Set -> i: int -> string

/// The ground-truth mesh file of instance `i` (absolute path).
val meshPath: set: Set -> i: int -> string

/// The image of instance `i` at view `v`: (1, 4, H, W) float32 RGBA in [0, 1], a new tensor
/// of the current disposal scope.
val image: set: Set -> i: int -> v: int -> Tensor

/// The camera of instance `i` at view `v`: azimuth, elevation (radians), distance.
val camera: set: Set -> i: int -> v: int -> float * float * float

/// The images of (instances.[k], views.[k]): (B, 4, H, W) float32 RGBA in [0, 1], a new tensor
/// of the current disposal scope.
val images: set: Set -> instances: int[] -> views: int[] -> Tensor

/// The given instances of `set`, in that order, as a set of their own (sharing the decoded
/// images): e.g. SSR's labelled first N objects and the unlabelled rest.
val subset: set: Set -> instances: int[] -> Set

/// The sets one after the other, as one set sharing their decoded images: instance i of the
/// k-th set is instance (sum of the counts before it) + i. For training on several sources
/// (a set may appear more than once, to weigh it). The sets must have the same views and image
/// size, or an `ArgumentException` names the two that differ; `Index` and `Split` are the first's.
val concat: sets: Set list -> Set

/// `set` with every camera NaN: the images of objects whose poses training must not see (SSR's
/// unlabelled objects). A loss that reads such a camera is NaN, so the trainer stops at once
/// instead of learning from a pose it was not given.
val withoutCameras: set: Set -> Set
