/// `Tensor` members that reshape, view, index, join and split (cast, slice, select and the
/// indexer syntax stay intrinsic in Tensor.fs). Optional extension members, visible wherever
/// `Reconstruct.Torch` is open.
[<AutoOpen>]
module Reconstruct.Torch.TensorShape

type Tensor with
    // ---------------------------------------------------------------- shape and views

    member a.reshape(shape: seq<int>) = Tensor.CallTShape(Ops.reshape, a, shape)
    member a.view(shape: seq<int>) = Tensor.CallTShape(Ops.view, a, shape)
    member a.flatten(?startDim: int, ?endDim: int) =
        Tensor.Call(Ops.flatten, Arg.T a, Arg.I(int64 (defaultArg startDim 0)), Arg.I(int64 (defaultArg endDim -1)))
    member a.permute(dims: seq<int>) = Tensor.CallTShape(Ops.permute, a, dims)
    member a.transpose(dim0: int, dim1: int) = Tensor.CallTII(Ops.transpose, a, int64 dim0, int64 dim1)
    /// Matrix transpose of the last two dimensions.
    member a.mT = a.transpose (-2, -1)
    member a.expand(shape: seq<int>) = Tensor.CallTShape(Ops.expand, a, shape)
    member a.expandAs(b: Tensor) = a.expand b.Shape
    member a.squeeze() = Tensor.CallT(Ops.squeeze, a)
    member a.squeeze(dim: int) = Tensor.CallTI(Ops.squeezeDim, a, int64 dim)
    member a.unsqueeze(dim: int) = Tensor.CallTI(Ops.unsqueeze, a, int64 dim)
    member a.contiguous() = Tensor.CallT(Ops.contiguous, a)
    member a.clone() = Tensor.CallT(Ops.clone, a)
    /// Elements [start, start+length) along `dim` (a view).
    member a.narrow(dim: int, start: int, length: int) = Tensor.Call(Ops.narrow, Arg.T a, Arg.I(int64 dim), Arg.I(int64 start), Arg.I(int64 length))
    member a.indexSelect(dim: int, index: Tensor) = Tensor.Call(Ops.indexSelect, Arg.T a, Arg.I(int64 dim), Arg.T index)
    member a.gather(dim: int, index: Tensor) = Tensor.Call(Ops.gather, Arg.T a, Arg.I(int64 dim), Arg.T index)
    /// A copy of `a` with `src` added at `index` along `dim`.
    member a.scatterAdd(dim: int, index: Tensor, src: Tensor) = Tensor.Call(Ops.scatterAdd, Arg.T a, Arg.I(int64 dim), Arg.T index, Arg.T src)
    /// a[indices...] with one optional index tensor per leading dimension.
    member a.index(indices: Tensor option[]) = Tensor.Call(Ops.index, Arg.T a, Arg.OptTs indices)
    /// Elements where `mask` is true, as a 1-D tensor.
    member a.maskedSelect(mask: Tensor) = Tensor.Call(Ops.maskedSelect, Arg.T a, Arg.T mask)
    static member cat(tensors: seq<Tensor>, ?dim: int) = Tensor.Call(Ops.cat, Arg.Ts(Array.ofSeq tensors), Arg.I(int64 (defaultArg dim 0)))
    static member stack(tensors: seq<Tensor>, ?dim: int) = Tensor.Call(Ops.stack, Arg.Ts(Array.ofSeq tensors), Arg.I(int64 (defaultArg dim 0)))
    member a.flip(dims: seq<int>) = Tensor.CallTShape(Ops.flip, a, dims)
    /// Tiles `a` `repeats` times along each dimension.
    member a.repeat(repeats: seq<int>) = Tensor.CallTShape(Ops.repeat, a, repeats)
    member a.repeatInterleave(repeats: int, dim: int) = Tensor.Call(Ops.repeatInterleave, Arg.T a, Arg.I(int64 repeats), Arg.I(int64 dim))
    member a.unbind(?dim: int) = Tensor.CallMany(Ops.unbind, Arg.T a, Arg.I(int64 (defaultArg dim 0)))
    member a.chunk(chunks: int, ?dim: int) = Tensor.CallMany(Ops.chunk, Arg.T a, Arg.I(int64 chunks), Arg.I(int64 (defaultArg dim 0)))
    member a.split(size: int, ?dim: int) = Tensor.CallMany(Ops.split, Arg.T a, Arg.I(int64 size), Arg.I(int64 (defaultArg dim 0)))
    member a.diagonal(?offset: int, ?dim1: int, ?dim2: int) =
        Tensor.Call(Ops.diagonal, Arg.T a, Arg.I(int64 (defaultArg offset 0)), Arg.I(int64 (defaultArg dim1 0)), Arg.I(int64 (defaultArg dim2 1)))
    /// Indices of non-zero elements, (n, dim) int64.
    member a.nonzero() = Tensor.Call(Ops.nonzero, Arg.T a)
