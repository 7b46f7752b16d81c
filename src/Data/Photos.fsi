/// A user's own photographs as a training set for UNICORN: no 3D, no camera, no mask, only
/// images of one kind of object. `import` brings a folder of photos to the model's resolution
/// once (the same rule `reconstruct predict` applies to its inputs), so training reads them as
/// it reads the rendered single views (`SingleView.load`), and the index says that they have no
/// ground truth.
module Reconstruct.Data.Photos

open System.Threading
open Reconstruct.Torch

/// Sides below this many pixels are refused.
[<Literal>]
val MinimumSide: int = 16

/// An image file as a model input: decoded (PNG 8/16-bit, JPEG, BMP, TGA; grey expanded),
/// alpha composited over white, the largest centred square cropped and resized to size²
/// (area averaging when shrinking, bilinear when growing) -> (3, size, size) float32 in
/// [0, 1], in the current disposal scope. An image that cannot be used (undecodable, smaller
/// than `MinimumSide`, more pixels than the decoder takes) raises `ImageFileException` naming
/// the file, the last before decoding anything.
val square: size: int -> path: string -> Tensor

/// `square` with the alpha composited over the grey `background` in [0, 1] (1: white).
val squareOver: background: float -> size: int -> path: string -> Tensor

/// What an import did.
type Summary =
    { /// The imported dataset (absolute): `index.jsonl` and `images/`.
      Folder: string
      Train: int
      Val: int
      /// Files of the source folder left out, in name order: (path, why).
      Failures: (string * string) list
      Seconds: float }

/// Imports every file directly in `source` (sorted by name; names starting with '.' skipped)
/// into the folder `out`, replaced as a whole (`Files.replaceFolder`: an interrupted or failed
/// import leaves what was there):
///   images/<name>.png  each photo through `square size`, 8-bit RGB (<name>: the file's name
///                      with its extension, '.' -> '_', so a.jpg and a.png stay apart);
///   index.jsonl        a row per photo: "image", "instance" (the source file's name: each
///                      photo is its own instance), "category", "split"; no "mesh", no "view";
///   failures.md        the files left out and why (not an image, undecodable, too small).
/// Photos are split 90/10 into train and val by `SplitMix64(seed).Permutation` of their sorted
/// names (at least one val photo once there are two). A missing source folder, a source without
/// one usable photo, or `out` being a file or a non-empty folder without an `index.jsonl`:
/// ArgumentException naming the path. `progress n` after each photo.
val import: source: string -> out: string -> category: string -> size: int -> seed: uint64 -> cancel: CancellationToken -> progress: (int -> unit) -> Summary
