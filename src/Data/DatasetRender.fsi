/// Dataset renders with ground truth: textured models rendered hard (one face per pixel, 2×
/// supersampled, ambient + diffuse light) under three protocols, stored as PNG plus one JSONL index.
///   multi-view  the NMR renders of SoftRas/SSR/UNICORN: 24 views, elevation 30°, azimuth every
///               15°, distance 2.732, fov 30°, 64×64, white background, RGBA.
///   wild        single views: azimuth 0–360°, elevation −10…40°, roll ±10°, scale and
///               translation jitter, random backgrounds, 64×64 or 128×128.
///   symmetric   Unsup3d-style crops of mirror-symmetric objects: azimuth within ±60° of the
///               front, elevation −10…30°, the object filling 80–90% of the frame, a random
///               light per image, RGBA on white, with ground-truth view-space depth maps.
/// Masks and cameras are ground truth for evaluation and supervised baselines only.
///
/// A benchmark (one category's models and protocols) is written as a whole: `writeBenchmark`
/// streams the instances into a temporary folder beside its destination and swaps it in when
/// every instance is done, so a reader sees the previous complete benchmark or the new one,
/// never a mix of two runs' images, indexes and models.
module Reconstruct.Data.DatasetRender

open System.Threading
open Reconstruct.Torch

/// One camera around the object. Angles in degrees (as in the index files).
type View =
    { Azimuth: float
      Elevation: float
      Roll: float
      Distance: float
      /// Uniform scale of the object before posing.
      Scale: float
      /// Shift of the object in the camera's x and y (object units).
      ShiftX: float
      ShiftY: float }

/// The multi-view camera at `azimuth` degrees: elevation 30°, distance 2.732, no jitter.
val nmrView: azimuth: float -> View

/// The 24 NMR views: azimuth 0, 15, ..., 345.
val multiViews: View[]

/// A random in-the-wild view drawn from `rng`.
val wildView: rng: SplitMix64 -> View

/// The field of view of every dataset render, degrees at the edges.
val fovDegrees: float

/// Supersampling of dataset renders: edges get 4 coverage levels per pixel.
val supersample: int

/// The light of dataset renders, from above-left of the camera. Two-sided: many real models
/// are not closed or consistently wound, so the sign of a normal is not trusted.
val light: Reconstruct.Render.HardLight

/// The azimuth, degrees, at which the symmetric protocol sees an object's front: 0, the object
/// frame's +z, where every procedural category has its front (checked by rendering: the car's
/// headlights, the chair's open seat; vases are rotationally symmetric).
val frontAzimuth: float

/// The symmetric protocol's azimuth range: within this many degrees either side of the front.
val symmetricAzimuth: float

/// The symmetric protocol's elevation range, degrees (low, high).
val symmetricElevation: float * float

/// The symmetric protocol's framing: the larger side of the object's projected bounding box
/// is this fraction of the image side (low, high), drawn per view.
val symmetricFill: float * float

/// A symmetric-protocol view of the object with vertices (V, 3), drawn from `rng` (azimuth,
/// elevation, fill, in that order): roll 0, distance 2.732, and the scale and shift that make
/// the object's projected bounding box `fill` of the frame on its larger side, centred (found
/// by a few fixed-point steps, exact to well under a pixel). Azimuths are around `frontAzimuth`.
val symmetricView: rng: SplitMix64 -> vertices: Tensor -> View

/// A random light of the symmetric protocol drawn from `rng`: direction (towards the light,
/// camera frame) uniform over the cone of half-angle 45° about the direction to the camera
/// (−z), ambient uniform in [0.2, 0.6], diffuse in [0.4, 0.8], one-sided (procedural meshes
/// are closed and wound outwards, so a face turned from the light is dark as in Unsup3d's
/// max(0, n·l) shading).
val randomLight: rng: SplitMix64 -> Reconstruct.Render.HardLight

/// The scale of the depth maps written by the symmetric protocol: a 16-bit sample v is the
/// depth v·depthScale (1e-4 object units, so depths up to 6.55).
val depthScale: float

/// Object points (V, 3) placed at each view (scale, orbit, shift in the camera's x and y):
/// (B, V, 3) float32 in the camera frame, a new tensor of the current disposal scope. Posed
/// in float64, so every view places the points alike to the last float32 bit.
val cameraPoints: views: View[] -> vertices: Tensor -> Tensor

/// The inverse of `cameraPoints`: camera-frame points (B, N, 3) of each view back in the
/// object frame, (B, N, 3) float32, a new tensor of the current disposal scope.
val objectPoints: views: View[] -> points: Tensor -> Tensor

/// Renders `mesh` at each view (hard: one face per subpixel, `supersample`× supersampled,
/// lit by `light`) through the fused kernel `Rasterizer.hardTextured`.
/// background: (B, 3, H, W) with H = W = size -> rgb (B, 3, H, W) composited over the
/// background, alpha (B, 1, H, W) (fractional at edges from the supersampling); float32.
val render: size: int -> mesh: TexturedMesh -> views: View[] -> background: Tensor -> Tensor * Tensor

/// `render` with a light per view: lights.[k] lights view k. Same shapes as `render`; the
/// lights array has one light per view.
val renderLit:
    size: int -> mesh: TexturedMesh -> views: View[] -> lights: Reconstruct.Render.HardLight[] -> background: Tensor -> Tensor * Tensor

/// Ground-truth view-space depth at each view: (B, H, W) float32 with H = W = size, the camera
/// z of the nearest surface through each pixel centre (perspective-correct, from the Zbuf of
/// `Rasterizer.rasterize` with K = 1 and no blur at the output resolution, since at an even
/// supersampling no subpixel centre is the pixel centre), 0 where the centre is not covered.
val renderDepth: size: int -> mesh: TexturedMesh -> views: View[] -> Tensor

/// `renderDepth` of a bare mesh: vertices (V, 3) float32 in the object frame, faces (F, 3) int64.
val renderDepthOf: size: int -> vertices: Tensor -> faces: Tensor -> views: View[] -> Tensor

/// `render` composed from tensor ops (rasterize with K = 1 -> UVs -> `Shading.sampleTexture` ->
/// two-sided `Shading.diffuse` -> `Blending.nearest` -> avgPool2d -> composite): the reference
/// the fused kernel is tested and benchmarked against. Same shapes as `render`.
val renderComposed: size: int -> mesh: TexturedMesh -> views: View[] -> background: Tensor -> Tensor * Tensor

/// A random background (3, H, W) with H = W = size: a flat colour, a vertical/horizontal
/// gradient, smooth noise, or a crop of one of `textures` ((3, h, w), any size ≥ 8 px; the
/// crop kind only when there is one).
val randomBackground: rng: SplitMix64 -> size: int -> textures: Tensor list -> Tensor

/// A model id as a file or folder name ("Scopia#chair 3" -> "Scopia_chair_3").
val instanceStem: instanceId: string -> string

/// Where an instance's ground-truth model is.
[<RequireQualifiedAccess>]
type GroundTruth =
    /// A model file that exists already (the prepared real models in the cache).
    | File of path: string
    /// Written with the renders, by `writeBenchmark`, as `<root>/models/<instance>.obj`
    /// (+ .mtl and the atlas .png), so it is replaced together with the images of the mesh.
    | Written

/// One instance to render: its model, split and where its ground truth lives.
type Instance =
    { Mesh: TexturedMesh
      Category: string
      Split: string
      GroundTruth: GroundTruth }

/// An instance whose ground truth is the existing model file `groundTruth`.
val instance: mesh: TexturedMesh -> category: string -> split: string -> groundTruth: string -> Instance

/// How a benchmark is rendered: the 24 multi-view views (64 px, RGBA on white), wild views
/// at a size (RGB over random backgrounds), or symmetric views at a size (RGBA on white, a
/// random light each, with depth maps).
type Protocol =
    | MultiView
    | Wild of size: int
    /// Per image, beside `view_NN.png`, `depth_NN.png`: `DepthMap` of `renderDepth` at
    /// `depthScale` (depth = sample·scale on the foreground, 0 marks background); its index row
    /// adds "light" {direction [x, y, z] unit towards the light in the camera frame, ambient,
    /// diffuse} and "depth" {image, scale}.
    | Symmetric of size: int

    /// "multiview", "wild64", "wild128", "symmetric64": the protocol's folder in a benchmark.
    member Name: string

/// The stream of an instance's wild or symmetric views, backgrounds and lights: node `instanceId` below node
/// `protocol.Name` of the experiment's seed, so an instance gets the same views whatever else
/// is rendered with it, and the two wild sizes get different ones.
val viewStream: seed: uint64 -> protocol: Protocol -> instanceId: string -> SplitMix64

/// How `writeBenchmark` renders.
type BenchmarkOptions =
    { /// Each into `<root>/<protocol.Name>`; at least one, no two with the same name.
      Protocols: Protocol list
      /// Wild views and backgrounds draw from `viewStream Seed`.
      Seed: uint64
      /// Views per instance under each wild or symmetric protocol (>= 1 when there is one).
      WildViews: int }

/// What `writeBenchmark` wrote.
type BenchmarkSummary =
    { Instances: int
      /// Images per protocol, in the order of the options.
      Images: (Protocol * int) list }

/// Atlases of this many earlier instances are what wild backgrounds crop (the textures of
/// other objects, as clutter): a bounded pool, so memory does not grow with the instances.
val backgroundPool: int

/// Writes one benchmark into `root` as a whole, streaming `instances`: each is taken from the
/// sequence only when the previous one is done (so pass a lazy sequence, such as
/// `proceduralInstances`), its ground truth written (`GroundTruth.Written`), rendered under
/// every protocol into `<protocol>/<category>/<instance>/view_NN.png` with one JSON line per
/// image in `<protocol>/index.jsonl`, then its mesh disposed. Memory stays flat in the number
/// of instances. `progress n` is called after the n-th instance.
///
/// Everything goes to a temporary folder beside `root` (`Files.replaceFolder`); when every
/// instance is done, `benchmark.json` (the options, the counts) is added and the contents are
/// swapped into `root`, replacing the previous benchmark there as a whole: a rerun with other
/// options or fewer instances leaves nothing of the earlier run (no stale images, no orphan
/// models). If anything fails, or `cancel` is set (checked before each instance and each
/// protocol; then OperationCanceledException), the temporary folder is removed and `root` is
/// left as it was. Temporary folders of processes that no longer run (a run that was killed)
/// are removed first. A `root` that holds anything a benchmark does not (`benchmark.json`,
/// `models`, `multiview`, `wild<size>`, `symmetric<size>`) is refused before any work, so a mistyped output folder
/// is not replaced.
///
/// Wild views and backgrounds draw from `viewStream options.Seed`; backgrounds crop the atlases
/// of the `backgroundPool` instances before (none for the first): the same seed and instances
/// in the same order give the same files, byte for byte, and an instance's images do not
/// depend on the instances after it.
val writeBenchmark:
    root: string ->
    options: BenchmarkOptions ->
    cancel: CancellationToken ->
    progress: (int -> unit) ->
    instances: seq<Instance> ->
        BenchmarkSummary

/// Runs `write` (which writes the benchmark at `root`, with `writeBenchmark`) unless `root`
/// already holds a complete one (its `benchmark.json`), under an exclusive lock on
/// `.<name>.lock` beside `root` (`Files.withLock`; `waiting` is called once if another process
/// holds it). Processes sharing a cache thus write a missing benchmark once: a second writer
/// would otherwise swap its copy in under a first process already reading the images.
val writeOnce: root: string -> waiting: (unit -> unit) -> write: (unit -> unit) -> unit

/// The `count` procedural shapes of `category` from `seed` as benchmark instances, generated
/// one at a time as the sequence is enumerated (shape k is `Procedural.mesh category seed k`),
/// split 70/10/20 by `Splits.assign seed` over their ids (the rule of the real models), ground
/// truth written with the renders. An unknown category or a negative count fails at once.
val proceduralInstances: category: string -> seed: uint64 -> count: int -> seq<Instance>

/// The instances of `proceduralInstances` in split `split` ("train", "val", "test"), in order;
/// the shapes of the other splits are never made (the demo's unseen test shapes).
val proceduralSplit: category: string -> seed: uint64 -> count: int -> split: string -> seq<Instance>
