/// Shape text and shape preconditions, pure code over `int[]`: the one place error messages
/// spell a shape, so every layer names what it received the same way ("received [2, 3]").
module Reconstruct.Torch.Shape

/// "[2, 3]" for [| 2; 3 |]; "[]" for a scalar.
val text: shape: int[] -> string

/// The same for int64 shapes (safetensors headers).
val text64: shape: int64[] -> string

/// "float32 [2, 3]": a dtype and a shape, for messages.
val describe: dtype: Dtype -> shape: int[] -> string

/// Fails (ArgumentException on `arg`) with one line naming the function, argument and shape
/// when the rank of `shape` is not in `ranks` or its trailing dimensions differ from `tail`
/// (-1 = any size).
val expect: fn: string -> arg: string -> shape: int[] -> ranks: int list -> tail: int list -> unit

/// Fails unless faces are (F, 3) int64, naming the function.
val expectFaces: fn: string -> dtype: Dtype -> shape: int[] -> unit
