/// Reconstruction for users: one photo in, a textured mesh, a pose and a figure out. A trained
/// UNICORN comes from a run folder (its best or last checkpoint) or from a shipped model
/// (`models/<name>/model.safetensors`: half-precision weights, the pipeline's configuration in
/// the metadata, the data's SHA-256 checked at load). `reconstruct predict` is `run`.
module Reconstruct.App.Predict

open System
open System.Threading
open Reconstruct.Torch

/// A model file or folder cannot be used; the message is one line, "model <path>: <what>".
exception ModelError of path: string * problem: string

/// An image cannot be used as input (too small, undecodable); one line naming the file.
exception InputError of path: string * problem: string

/// "model.safetensors", the weights of a shipped model folder.
[<Literal>]
val ModelFile: string = "model.safetensors"

/// A model ready to predict (evaluation mode, no perceptual network, no neighbour memory).
type Loaded =
    { Model: Reconstruct.Pipelines.Unicorn.Model
      /// The weights' file.
      Source: string
      /// One line for people: the model's name, iterations and source run.
      Description: string }

    interface IDisposable

/// The `models` folders searched for a shipped model's name, in order: `$RECONSTRUCT_MODELS`,
/// `./models`, then a `models` folder beside or above the running assembly (the repository's).
val modelFolders: unit -> string list

/// A model by what a user types: a shipped model's name ("unicorn-chair"), a shipped model
/// folder or its model.safetensors, or a training run folder (config.json + checkpoints: the
/// best checkpoint when the run kept one, else the last). Raises ModelError naming the path:
/// unknown name (with the names available), corrupt, truncated or mismatched file.
val load: spec: string -> Loaded

/// Writes `model`'s weights as a shipped model file: float tensors as float16, the neighbour
/// memory left out, metadata: pipeline "unicorn", the model's configuration, `step`, "name",
/// "precision" and `extra`; the file's data checksum is checked by `load`.
val save: model: Reconstruct.Pipelines.Unicorn.Model -> path: string -> name: string -> step: int64 -> extra: (string * string) list -> unit

/// Writes a shipped model from a UNICORN run folder into `outDir` (created): model.safetensors
/// (float tensors as float16; the neighbour memory left out), config.json (the run's), and
/// curves.png and `results` (the eval table's Markdown) copied beside it when given and present.
/// Returns the files written.
val export: runDir: string -> outDir: string -> name: string -> results: string option -> string list

/// Sides below this many pixels are refused (`Photos.MinimumSide`).
[<Literal>]
val MinimumSide: int = 16

/// An image file as the model's input, as training imports photographs (`Photos.square`):
/// decoded, alpha composited over white, the largest centred square cropped and resized to
/// size² -> (3, size, size) float32 in [0, 1]. Raises InputError naming the file
/// (undecodable, smaller than `MinimumSide`, too many pixels).
val prepare: size: int -> path: string -> Tensor

/// `prepare` with the alpha composited over the grey `background` in [0, 1] (an Unsup3d
/// model's own, from its run).
val prepareOver: background: float -> size: int -> path: string -> Tensor

/// What `run` does.
type Options =
    { /// A model as `load` takes it.
      Model: string
      /// An image file, or a folder whose files are taken in name order (not recursive).
      Input: string
      /// The output folder (created).
      Out: string
      /// Also write NAME.ply (binary, per-corner UVs as MeshLab's texcoord).
      Ply: bool
      /// Also write NAME.glb (binary glTF, texture inside, `Gltf.writeGlb`).
      Glb: bool
      /// Images per forward pass.
      BatchSize: int }

    /// Batch 16, no PLY, no GLB.
    static member Defaults: Options

/// One input's outcome.
type ItemOutcome =
    | Done of seconds: float
    /// Its outputs were already complete (a rerun).
    | Skipped
    | Failed of reason: string

type Summary =
    { Items: (string * ItemOutcome) list
      /// Wall-clock seconds of the run, model loading included.
      Seconds: float
      /// Mean seconds per reconstructed image (decode, forward, files), NaN when none.
      SecondsPerImage: float
      /// summary.json and summary.md in the output folder.
      Files: string list }

/// An Unsup3d training run folder as `Model` reconstructs each image as its canonical depth:
/// NAME.obj + NAME.mtl + NAME_texture.png (the 64×64 depth grid as a mesh, x right, y up,
/// facing +z, textured with the albedo), NAME.png (input | reconstruction | albedo | canonical
/// image), NAME.ply/NAME.glb as asked, and NAME.view.json last (the view's rotation and
/// translation, the light). Every other model is UNICORN's:
///
/// Files written per image NAME (the input's file name without its extension; inputs sharing a
/// name get the extension appended): NAME.obj + NAME.mtl + NAME_texture.png (the UV texture),
/// NAME.pose.json (rotation, translation, scale, azimuth/elevation/roll in degrees, the
/// candidates' probabilities), NAME.png (input | reconstruction over its background | three
/// novel views), NAME.ply with `Ply`, NAME.glb with `Glb`. Each file is written atomically; an image whose files
/// all exist is skipped. A file that fails is reported in summary.json/summary.md and the batch
/// goes on; a model that cannot be loaded or an output folder that cannot be written raises
/// (ModelError, InputError for a missing input, Files.FileWriteError) before any image.
val run: options: Options -> cancel: CancellationToken -> log: (string -> unit) -> Summary

/// The names of the files `run` writes for an image named `name`.
val outputsOf: options: Options -> name: string -> string list
