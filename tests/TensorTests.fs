/// The tensor layer against plain F#: creation and copies for every dtype, broadcasting and
/// dtype promotion, reductions, views, linear algebra, seeded randomness, error messages and
/// disposal scopes. References are loops over .NET arrays or values worked out by hand, never
/// the output of the tensor code itself.
module Reconstruct.Tests.TensorTests

open System
open Expecto
open FsCheck
open FsCheck.FSharp
open Reconstruct.Torch
open Reconstruct.Tests.TestHelpers

// ---------------------------------------------------------------- helpers

/// Values from System.Random, so references never depend on the tensor code under test.
let private randomValues (seed: int) (n: int) =
    let r = Random(seed)
    Array.init n (fun _ -> r.NextDouble() * 2.0 - 1.0)

let private f64 (data: float[]) (shape: int list) = Tensor.ofArray (data, shape)

let private exact (expected: float[]) (actual: Tensor) = assertClose 0.0 0.0 expected (actual.ToFloat64s())
let private close (expected: float[]) (actual: Tensor) = assertClose 1e-12 1e-10 expected (actual.ToFloat64s())
let private shapeIs (expected: int list) (t: Tensor) = Expect.equal t.Shape (Array.ofList expected) "t.Shape"

/// Row-major flat index of (i, j, k) in a (_, n1, n2) array.
let inline private at3 (n1: int) (n2: int) i j k = (i * n1 + j) * n2 + k

// ---------------------------------------------------------------- creation and copies

let private roundTrip<'T when 'T: unmanaged and 'T: equality> (data: 'T[]) (dtype: Dtype) =
    use scope = DisposalScope.Open()
    let t = Tensor.ofArray (data, [ 2; 3 ])
    Expect.equal t.Dtype dtype "t.Dtype"
    shapeIs [ 2; 3 ] t
    Expect.equal t.Numel 6 "t.Numel"
    Expect.equal (t.ToArray<'T>()) data "t.ToArray<'T>()"
    // Into a span over a larger buffer: only the first Numel elements are written.
    let buffer = Array.zeroCreate<'T> 8
    t.CopyTo(Span<'T>(buffer, 1, 6))
    Expect.equal buffer.[1..6] data "buffer.[1..6]"
    Expect.equal buffer.[0] (Unchecked.defaultof<'T>) "buffer.[0]"
    // A non-contiguous view copies in logical (row-major) order.
    let tt = t.transpose (0, 1)
    let expected = Array.init 6 (fun k -> data.[(k % 2) * 3 + k / 2])
    Expect.equal (tt.ToArray<'T>()) expected "tt.ToArray<'T>()"

// ---------------------------------------------------------------- reductions

/// A (2, 3, 4) float64 tensor and its values.
let private cube seed =
    let v = randomValues seed 24
    v, f64 v [ 2; 3; 4 ]

// ---------------------------------------------------------------- linear algebra

let private matmulLoop (a: float[]) (b: float[]) n k m =
    Array.init (n * m) (fun idx ->
        let i, j = idx / m, idx % m
        let mutable s = 0.0
        for l in 0 .. k - 1 do
            s <- s + a.[i * k + l] * b.[l * m + j]
        s)

/// Runs `f` on a thread that ends; the Thread object (which holds the thread's statics, and so
/// its current scope) is unreachable once this returns.
[<Runtime.CompilerServices.MethodImpl(Runtime.CompilerServices.MethodImplOptions.NoInlining)>]
let private onEndedThread (f: unit -> unit) =
    let t = Threading.Thread(f)
    t.Start()
    t.Join()

[<Tests>]
let tests =
    testList "Tensor" [
        test "creation round trip float32" { roundTrip [| 1.5f; -2.25f; 0.0f; 3.0e7f; -1e-7f; 7.0f |] Float32 }

        test "creation round trip float64" { roundTrip [| 1.5; -2.25; 0.1; 3.0e300; -1e-300; Math.PI |] Float64 }

        test "creation round trip int64" { roundTrip [| 1L; -2L; 0L; Int64.MaxValue; Int64.MinValue; 42L |] Int64 }

        test "creation round trip int32" { roundTrip [| 1; -2; 0; Int32.MaxValue; Int32.MinValue; 42 |] Int32 }

        test "creation round trip uint8" { roundTrip [| 0uy; 1uy; 127uy; 128uy; 255uy; 9uy |] UInt8 }

        test "creation round trip bool" { roundTrip [| true; false; false; true; true; false |] Bool }

        test "creation zeros ones full for every dtype" {
            use scope = DisposalScope.Open()
            for dtype in [ UInt8; Int32; Int64; Float32; Float64; Bool ] do
                let z = Tensor.zeros ([ 2; 2 ], dtype)
                let o = Tensor.ones ([ 3 ], dtype)
                let f = Tensor.full ([ 1; 2 ], 1.0, dtype)
                Expect.equal z.Dtype dtype "z.Dtype"
                Expect.equal o.Dtype dtype "o.Dtype"
                Expect.equal f.Dtype dtype "f.Dtype"
                exact [| 0.0; 0.0; 0.0; 0.0 |] z
                exact [| 1.0; 1.0; 1.0 |] o
                exact [| 1.0; 1.0 |] f
            exact [| 7.0; 7.0 |] (Tensor.full ([ 2 ], 7.0, Int64))
            exact [| -2.5; -2.5; -2.5 |] (Tensor.full ([ 3 ], -2.5, Float64))
            Expect.equal ((Tensor.zeros [ 1 ]).Dtype) Float32 "(Tensor.zeros [ 1 ]).Dtype"
        }

        test "creation arange linspace eye" {
            use scope = DisposalScope.Open()
            let a = Tensor.arange 5
            Expect.equal a.Dtype Int64 "a.Dtype"
            Expect.equal (a.ToInt64s()) [| 0L; 1L; 2L; 3L; 4L |] "a.ToInt64s()"
            let b = Tensor.arange (1.0, 2.0, 0.25, Float64)
            exact [| 1.0; 1.25; 1.5; 1.75 |] b
            let c = Tensor.arange (10.0, 0.0, -3.0)
            Expect.equal (c.ToInt64s()) [| 10L; 7L; 4L; 1L |] "c.ToInt64s()"
            let l = Tensor.linspace (-1.0, 1.0, 5, Float64)
            exact [| -1.0; -0.5; 0.0; 0.5; 1.0 |] l
            Expect.equal ((Tensor.linspace (0.0, 1.0, 3)).Dtype) Float32 "(Tensor.linspace (0.0, 1.0, 3)).Dtype"
            let e = Tensor.eye (3, Int64)
            shapeIs [ 3; 3 ] e
            exact [| 1.0; 0.0; 0.0; 0.0; 1.0; 0.0; 0.0; 0.0; 1.0 |] e
        }

        test "creation ofArray2D is row major and scalar is zero dimensional" {
            use scope = DisposalScope.Open()
            let t = Tensor.ofArray2D (array2D [ [ 1.0; 2.0; 3.0 ]; [ 4.0; 5.0; 6.0 ] ])
            shapeIs [ 2; 3 ] t
            exact [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |] t
            let s = Tensor.scalar (2.5, Float64)
            Expect.equal s.Dim 0 "s.Dim"
            Expect.equal (s.ToScalar()) 2.5 "s.ToScalar()"
            Expect.equal ((Tensor.scalar (3.0, Int64)).ToScalar()) 3.0 "(Tensor.scalar (3.0, Int64)).ToScalar()"
        }

        test "creation errors name the problem" {
            use scope = DisposalScope.Open()
            let e = Expect.catchT<ArgumentException> (fun () -> Tensor.ofArray ([| 1.0; 2.0; 3.0 |], [ 2; 2 ]) |> ignore) "Tensor.ofArray ([| 1.0; 2.0; 3.0 |], [ 2; 2 ])"
            Expect.stringContains e.Message "[2, 2]" "e.Message"
            Expect.stringContains e.Message "3" "e.Message"
            let t = Tensor.ofArray [| 1.0; 2.0 |]
            let wrongType = Expect.catchT<ArgumentException> (fun () -> t.ToArray<float32>() |> ignore) "t.ToArray<float32>()"
            Expect.stringContains wrongType.Message "float64" "wrongType.Message"
            Expect.stringContains wrongType.Message "float32" "wrongType.Message"
            let short = Expect.catchT<ArgumentException> (fun () -> t.CopyTo(Span<float>(Array.zeroCreate 1))) "t.CopyTo(Span<float>(Array.zeroCreate 1))"
            Expect.stringContains short.Message "float64[2]" "short.Message"
            let item = Expect.catchT<NativeError> (fun () -> t.ToScalar() |> ignore) "t.ToScalar()"
            Expect.stringContains item.Message "float64[2]" "item.Message"
        }

        // ---------------------------------------------------------------- broadcasting and promotion

        test "promotion of tensor pairs follows the libtorch table" {
            use scope = DisposalScope.Open()
            let cases =
                [ Int64, Float32, Float32
                  Float32, Float64, Float64
                  Bool, Int64, Int64
                  Int32, Int64, Int64
                  UInt8, Int32, Int32
                  Bool, Bool, Bool
                  UInt8, Float32, Float32
                  Int32, Float64, Float64 ]
            for a, b, expected in cases do
                let x = Tensor.ones ([ 2 ], a)
                let y = Tensor.ones ([ 2 ], b)
                Expect.isTrue ((x * y).Dtype = expected) (sprintf "%A * %A: expected %A, got %A" a b expected (x * y).Dtype)
                Expect.isTrue ((y + x).Dtype = expected) (sprintf "%A + %A: expected %A, got %A" b a expected (y + x).Dtype)
            // The values survive promotion: 3 (int64) + 0.5 (float32).
            let s = Tensor.ofArray [| 3L; -4L |] + Tensor.ofArray [| 0.5f; 0.25f |]
            Expect.equal s.Dtype Float32 "s.Dtype"
            exact [| 3.5; -3.75 |] s
            let d = Tensor.ofArray [| 0.1f |] + Tensor.ofArray [| 0.2 |]
            Expect.equal d.Dtype Float64 "d.Dtype"
            exact [| float 0.1f + 0.2 |] d
            let bi = Tensor.ofArray [| true; false |] + Tensor.ofArray [| 5L; 5L |]
            Expect.equal (bi.ToArray<int64>()) [| 6L; 5L |] "bi.ToArray<int64>()"
        }

        test "scalar operations keep the tensor dtype" {
            use scope = DisposalScope.Open()
            let x32 = Tensor.ofArray [| 1.0f; 2.0f |]
            for r in [ x32 + 0.1; x32 - 0.1; x32 * 0.1; x32 / 0.1; 0.1 + x32; 0.1 - x32; 0.1 * x32; 0.1 / x32; x32.pow 2.0 ] do
                Expect.equal r.Dtype Float32 "r.Dtype"
            exact [| float (1.0f + 0.1f); float (2.0f + 0.1f) |] (x32 + 0.1)
            let x64 = Tensor.ofArray [| 1.0; 2.0 |]
            for r in [ x64 + 0.1; x64 - 0.1; x64 * 0.1; x64 / 0.1; 0.1 + x64; 0.1 - x64; 0.1 * x64; 0.1 / x64; x64.pow 0.5 ] do
                Expect.equal r.Dtype Float64 "r.Dtype"
            // float64 arithmetic, not float32: 1 + 0.1 is exact only in double.
            exact [| 1.0 + 0.1; 2.0 + 0.1 |] (x64 + 0.1)
            exact [| 0.1 - 1.0; 0.1 - 2.0 |] (0.1 - x64)
            exact [| 0.1 / 1.0; 0.1 / 2.0 |] (0.1 / x64)
            // Integer tensors with whole scalars stay integers.
            let i64 = Tensor.ofArray [| 3L; -7L |]
            for r in [ i64 + 2.0; i64 - 2.0; i64 * 3.0; 2.0 - i64; 3.0 * i64; i64.pow 2.0; i64.remainder 2.0 ] do
                Expect.isTrue (r.Dtype = Int64) (sprintf "expected int64, got %A" r.Dtype)
            Expect.equal ((i64 * 3.0).ToArray<int64>()) [| 9L; -21L |] "(i64 * 3.0).ToArray<int64>()"
            Expect.equal ((i64.remainder 2.0).ToArray<int64>()) [| 1L; 1L |] "(i64.remainder 2.0).ToArray<int64>()"
            Expect.equal ((Tensor.ofArray [| 4; 5 |] * 2.0).Dtype) Int32 "(Tensor.ofArray [| 4; 5 |] * 2.0).Dtype"
            Expect.equal ((Tensor.ofArray [| 4uy; 5uy |] + 1.0).Dtype) UInt8 "(Tensor.ofArray [| 4uy; 5uy |] + 1.0).Dtype"
            // A bool mask times 1.0 is a float mask, as in libtorch.
            let mask = (Tensor.ofArray [| true; false |]) * 1.0
            Expect.equal mask.Dtype Float32 "mask.Dtype"
            exact [| 1.0; 0.0 |] mask
            // -0.0 keeps its sign on float tensors.
            Expect.isTrue (Double.IsNegative((Tensor.ofArray [| 1.0 |] * -0.0).ToFloat64s().[0])) "Double.IsNegative((Tensor.ofArray [| 1.0 |] * -0.0).ToFloat64s().[0])"
            // A fractional scalar cannot stay an integer: it promotes to the default float type.
            let half = i64 + 0.5
            Expect.equal half.Dtype Float32 "half.Dtype"
            exact [| 3.5; -6.5 |] half
            // True division always gives floats.
            Expect.equal ((i64 / 2.0).Dtype) Float32 "(i64 / 2.0).Dtype"
            exact [| 1.5; -3.5 |] (i64 / 2.0)
        }

        test "broadcasting (3,1) with (1,4) gives (3,4)" {
            use scope = DisposalScope.Open()
            let a = [| 1.0; 2.0; 3.0 |]
            let b = [| 10.0; 20.0; 30.0; 40.0 |]
            let ta = f64 a [ 3; 1 ]
            let tb = f64 b [ 1; 4 ]
            let reference (op: float -> float -> float) = Array.init 12 (fun k -> op a.[k / 4] b.[k % 4])
            for name, (result: Tensor), op in [ "add", ta + tb, (+); "sub", ta - tb, (-); "mul", ta * tb, (*); "div", ta / tb, (/) ] do
                shapeIs [ 3; 4 ] result
                try close (reference op) result with e -> failwithf "%s: %s" name e.Message
            let p = ta.pow (tb / 10.0)
            shapeIs [ 3; 4 ] p
            close (reference (fun x y -> x ** (y / 10.0))) p
            // Trailing-dimension broadcasting: (2, 3) + (3,).
            let m = f64 [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |] [ 2; 3 ]
            exact [| 2.0; 4.0; 6.0; 5.0; 7.0; 9.0 |] (m + f64 [| 1.0; 2.0; 3.0 |] [ 3 ])
        }

        testPropertyWithConfig (propertyConfig 40) "broadcasting add commutes and matches the loop" (
            let shapes =
                gen {
                    let! rows = Gen.choose (1, 4)
                    let! cols = Gen.choose (1, 4)
                    let! rowsA = Gen.elements [ 1; rows ]
                    let! colsB = Gen.elements [ 1; cols ]
                    let! seed = Gen.choose (0, 100000)
                    return (rows, cols, rowsA, colsB, seed)
                }
            Prop.forAll (Arb.fromGen shapes) (fun (rows, cols, rowsA, colsB, seed) ->
                use scope = DisposalScope.Open()
                // a: (rowsA, cols), b: (rows, colsB); both broadcast to (rows, cols).
                let a = randomValues seed (rowsA * cols)
                let b = randomValues (seed + 1) (rows * colsB)
                let ta = f64 a [ rowsA; cols ]
                let tb = f64 b [ rows; colsB ]
                let expected =
                    Array.init (rows * cols) (fun k ->
                        let i, j = k / cols, k % cols
                        a.[(if rowsA = 1 then 0 else i) * cols + j] + b.[i * colsB + (if colsB = 1 then 0 else j)])
                let ab = ta + tb
                let ba = tb + ta
                Expect.equal ab.Shape [| rows; cols |] "ab.Shape"
                exact expected ab
                exact (ab.ToFloat64s()) ba))

        test "comparison and where match the loop" {
            use scope = DisposalScope.Open()
            let a = [| 1.0; 5.0; -2.0; 3.0 |]
            let b = [| 2.0; 5.0; -3.0; 4.0 |]
            let ta, tb = f64 a [ 4 ], f64 b [ 4 ]
            let check name (t: Tensor) (op: float -> float -> bool) =
                Expect.isTrue (t.Dtype = Bool) (name + " should give bool")
                Expect.equal (t.ToBools()) (Array.map2 op a b) "t.ToBools()"
            check "gt" (ta.gt tb) (>)
            check "ge" (ta.ge tb) (>=)
            check "lt" (ta.lt tb) (<)
            check "le" (ta.le tb) (<=)
            check "eq" (ta.eq tb) (=)
            check "ne" (ta.ne tb) (<>)
            Expect.equal ((ta.gt 2.0).ToBools()) (a |> Array.map (fun x -> x > 2.0)) "(ta.gt 2.0).ToBools()"
            Expect.equal ((ta.eq 5.0).ToBools()) (a |> Array.map (fun x -> x = 5.0)) "(ta.eq 5.0).ToBools()"
            let picked = Tensor.where (ta.gt tb, ta, tb)
            exact (Array.map2 max a b) picked
            // where broadcasts its condition: (2, 1) against (2, 2).
            let cond = Tensor.ofArray ([| true; false |], [ 2; 1 ])
            let w = Tensor.where (cond, f64 [| 1.0; 2.0; 3.0; 4.0 |] [ 2; 2 ], f64 [| -1.0 |] [ 1 ])
            exact [| 1.0; 2.0; -1.0; -1.0 |] w
            exact (Array.map2 max a b) (Tensor.maximum (ta, tb))
            exact (Array.map2 min a b) (Tensor.minimum (ta, tb))
            let both = (ta.gt 0.0).logicalAnd (tb.gt 0.0)
            Expect.equal (both.ToBools()) (Array.map2 (fun x y -> x > 0.0 && y > 0.0) a b) "both.ToBools()"
        }

        test "unary math matches System.Math" {
            use scope = DisposalScope.Open()
            let xs = [| 0.3; 0.9; 1.7; 2.2; 0.05 |]
            let signed = [| -1.5; -0.2; 0.0; 0.7; 2.5 |]
            let t = f64 xs [ 5 ]
            let s = f64 signed [ 5 ]
            let cases: (string * Tensor * float[]) list =
                [ "exp", t.exp (), Array.map exp xs
                  "log", t.log (), Array.map log xs
                  "log1p", t.log1p (), Array.map (fun x -> Math.Log(1.0 + x)) xs
                  "sqrt", t.sqrt (), Array.map sqrt xs
                  "rsqrt", t.rsqrt (), Array.map (fun x -> 1.0 / sqrt x) xs
                  "sin", t.sin (), Array.map sin xs
                  "cos", t.cos (), Array.map cos xs
                  "tan", t.tan (), Array.map tan xs
                  "asin", (t / 3.0).asin (), Array.map (fun x -> asin (x / 3.0)) xs
                  "atan", t.atan (), Array.map atan xs
                  "tanh", s.tanh (), Array.map tanh signed
                  "sigmoid", s.sigmoid (), Array.map (fun x -> 1.0 / (1.0 + exp -x)) signed
                  "abs", s.abs (), Array.map abs signed
                  "neg", -s, Array.map (fun x -> -x) signed
                  "square", s.square (), Array.map (fun x -> x * x) signed
                  "reciprocal", t.reciprocal (), Array.map (fun x -> 1.0 / x) xs
                  "relu", s.relu (), Array.map (fun x -> max x 0.0) signed
                  "sign", s.sign (), Array.map (fun x -> float (sign x)) signed
                  "floor", s.floor (), Array.map floor signed
                  "ceil", s.ceil (), Array.map ceil signed
                  "clamp", s.clamp (-1.0, 1.0), Array.map (fun x -> max -1.0 (min 1.0 x)) signed
                  "clamp min", s.clamp (min = 0.1), Array.map (fun x -> max 0.1 x) signed
                  "atan2", Tensor.atan2 (s, t), Array.map2 (fun y x -> Math.Atan2(y, x)) signed xs ]
            for name, actual, expected in cases do
                try assertClose 1e-14 1e-12 expected (actual.ToFloat64s()) with e -> failwithf "%s: %s" name e.Message
        }

        test "reductions sum and mean along each dim match loops" {
            use scope = DisposalScope.Open()
            let v, t = cube 1
            let dims = [| 2; 3; 4 |]
            for dim in 0..2 do
                let outShape = dims |> Array.indexed |> Array.filter (fun (d, _) -> d <> dim) |> Array.map snd
                let expected =
                    Array.init (outShape.[0] * outShape.[1]) (fun k ->
                        let p, q = k / outShape.[1], k % outShape.[1]
                        Array.init dims.[dim] (fun r ->
                            match dim with
                            | 0 -> v.[at3 3 4 r p q]
                            | 1 -> v.[at3 3 4 p r q]
                            | _ -> v.[at3 3 4 p q r])
                        |> Array.sum)
                let s = t.sum dim
                Expect.equal s.Shape outShape "s.Shape"
                close expected s
                close (expected |> Array.map (fun x -> x / float dims.[dim])) (t.mean dim)
                let kept = t.sum (dim, keepDim = true)
                Expect.equal kept.Shape (dims |> Array.mapi (fun d n -> if d = dim then 1 else n)) "kept.Shape"
            close [| Array.sum v |] (t.sum ())
            close [| Array.average v |] (t.mean ())
            // Several dims at once: (2, 3, 4) summed over 0 and 2 gives (3,).
            let s02 = t.sum [| 0; 2 |]
            shapeIs [ 3 ] s02
            close (Array.init 3 (fun j -> seq { for i in 0..1 do for k in 0..3 -> v.[at3 3 4 i j k] } |> Seq.sum)) s02
        }

        test "reductions max min argmax with indices match loops" {
            use scope = DisposalScope.Open()
            let v, t = cube 2
            let values, indices = t.max 2
            let minValues, minIndices = t.min 1
            shapeIs [ 2; 3 ] values
            Expect.equal indices.Dtype Int64 "indices.Dtype"
            let rows = Array.init 6 (fun r -> v.[r * 4 .. r * 4 + 3])
            exact (rows |> Array.map Array.max) values
            Expect.equal (indices.ToInt64s()) (rows |> Array.map (fun row -> int64 (Array.findIndex ((=) (Array.max row)) row))) "indices.ToInt64s()"
            Expect.equal ((t.argmax 2).ToInt64s()) (indices.ToInt64s()) "(t.argmax 2).ToInt64s()"
            let columns = Array.init 8 (fun k -> let i, l = k / 4, k % 4 in Array.init 3 (fun j -> v.[at3 3 4 i j l]))
            exact (columns |> Array.map Array.min) minValues
            Expect.equal (minIndices.ToInt64s()) (columns |> Array.map (fun c -> int64 (Array.findIndex ((=) (Array.min c)) c))) "minIndices.ToInt64s()"
            Expect.equal ((t.argmin 1).ToInt64s()) (minIndices.ToInt64s()) "(t.argmin 1).ToInt64s()"
            exact [| Array.max v |] (t.max ())
            exact [| Array.min v |] (t.min ())
            let kv, ki = t.max (0, keepDim = true)
            shapeIs [ 1; 3; 4 ] kv
            shapeIs [ 1; 3; 4 ] ki
        }

        test "reductions norm logsumexp cumsum std match loops" {
            use scope = DisposalScope.Open()
            let v = [| 3.0; -4.0; 1.0; 2.0; 0.5; -0.5 |]
            let t = f64 v [ 2; 3 ]
            close [| sqrt (Array.sumBy (fun x -> x * x) v) |] (t.norm ())
            close [| Array.sumBy abs v |] (t.norm 1.0)
            close [| sqrt 26.0; sqrt 4.5 |] (t.norm (2.0, 1))
            close [| 5.0; 4.5; 1.5 |] (t.norm (1.0, 0))
            let lse (xs: float[]) = let m = Array.max xs in m + log (Array.sumBy (fun x -> exp (x - m)) xs)
            close [| lse v.[0..2]; lse v.[3..5] |] (t.logsumexp 1)
            // Large values must not overflow: logsumexp [1000, 1000] = 1000 + log 2.
            close [| 1000.0 + log 2.0 |] ((f64 [| 1000.0; 1000.0 |] [ 2 ]).logsumexp 0)
            close [| 3.0; -1.0; 0.0; 2.0; 2.5; 2.0 |] (t.cumsum 1)
            close [| 3.0; -4.0; 1.0; 5.0; -3.5; 0.5 |] (t.cumsum 0)
            let row = v.[0..2]
            let mean = Array.average row
            let var = (row |> Array.sumBy (fun x -> (x - mean) ** 2.0)) / 2.0
            close [| var |] ((f64 row [ 3 ]).var 0)
            close [| sqrt var |] ((f64 row [ 3 ]).std 0)
            close [| var * 2.0 / 3.0 |] ((f64 row [ 3 ]).var (0, unbiased = false))
            close [| 3.0 * -4.0 * 1.0; 2.0 * 0.5 * -0.5 |] (t.prod 1)
        }

        testPropertyWithConfig (propertyConfig 30) "reductions topk and sort agree with Array.sort" (
            Prop.forAll (Arb.fromGen (Gen.zip (Gen.choose (1, 12)) (Gen.choose (0, 100000)))) (fun (n, seed) ->
                use scope = DisposalScope.Open()
                let v = randomValues seed n
                let t = f64 v [ n ]
                let sortedV, sortedI = t.sort ()
                exact (Array.sort v) sortedV
                // The indices point at the sorted values.
                exact (sortedI.ToInt64s() |> Array.map (fun i -> v.[int i])) sortedV
                let desc, _ = t.sort (descending = true)
                exact (Array.sortDescending v) desc
                let k = max 1 (n / 2)
                let topV, topI = t.topk k
                exact (Array.sortDescending v |> Array.take k) topV
                exact (topI.ToInt64s() |> Array.map (fun i -> v.[int i])) topV
                let lowV, _ = t.topk (k, largest = false)
                exact (Array.sort v |> Array.take k) lowV))

        test "reductions topk and sort agree with Array.sort (examples)" {
            // Along a dim of a matrix.
            use scope = DisposalScope.Open()
            let m = f64 [| 3.0; 1.0; 2.0; 9.0; 7.0; 8.0 |] [ 2; 3 ]
            let tv, ti = m.topk (2, dim = 1)
            exact [| 3.0; 2.0; 9.0; 8.0 |] tv
            Expect.equal (ti.ToInt64s()) [| 0L; 2L; 0L; 2L |] "ti.ToInt64s()"
            let sv, si = m.sort (dim = 0, descending = true)
            exact [| 9.0; 7.0; 8.0; 3.0; 1.0; 2.0 |] sv
            Expect.equal (si.ToInt64s()) [| 1L; 1L; 1L; 0L; 0L; 0L |] "si.ToInt64s()"
        }

        // ---------------------------------------------------------------- views

        testPropertyWithConfig (propertyConfig 30) "views reshape round trip" (
            let dims = Gen.elements [ [ 24 ]; [ 2; 12 ]; [ 4; 6 ]; [ 2; 3; 4 ]; [ 4; 3; 2 ]; [ 1; 24; 1 ]; [ 2; 2; 2; 3 ] ]
            Prop.forAll (Arb.fromGen (Gen.zip dims dims)) (fun (s1, s2) ->
                use scope = DisposalScope.Open()
                let v = randomValues 5 24
                let t = f64 v s1
                let r = t.reshape s2
                shapeIs s2 r
                // Row-major order is preserved by reshape, so the flat values are unchanged.
                exact v r
                exact v (r.reshape s1)
                shapeIs [ 24 ] (r.flatten ())))

        test "views permute transpose expand squeeze match index maps" {
            use scope = DisposalScope.Open()
            let v, t = cube 3
            let p = t.permute [ 2; 0; 1 ]
            shapeIs [ 4; 2; 3 ] p
            // p[k, i, j] = t[i, j, k]
            exact (Array.init 24 (fun n -> let k, i, j = n / 6, (n / 3) % 2, n % 3 in v.[at3 3 4 i j k])) p
            let tr = t.transpose (0, 2)
            shapeIs [ 4; 3; 2 ] tr
            exact (Array.init 24 (fun n -> let k, j, i = n / 6, (n / 2) % 3, n % 2 in v.[at3 3 4 i j k])) tr
            let m = f64 [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |] [ 2; 3 ]
            exact [| 1.0; 4.0; 2.0; 5.0; 3.0; 6.0 |] m.mT
            let col = f64 [| 1.0; 2.0 |] [ 2; 1 ]
            let e = col.expand [ 2; 3 ]
            shapeIs [ 2; 3 ] e
            exact [| 1.0; 1.0; 1.0; 2.0; 2.0; 2.0 |] e
            let u = col.unsqueeze 0
            shapeIs [ 1; 2; 1 ] u
            shapeIs [ 2 ] (u.squeeze ())
            shapeIs [ 2; 1 ] (u.squeeze 0)
            shapeIs [ 1; 2 ] ((u.squeeze 0).transpose (0, 1))
            // A view shares storage: writing through it changes the original.
            let base' = f64 [| 0.0; 0.0; 0.0; 0.0 |] [ 2; 2 ]
            let row = base'.select (0, 1)
            row.fill_ 5.0
            exact [| 0.0; 0.0; 5.0; 5.0 |] base'
        }

        test "views slicing follows F# inclusive ranges" {
            use scope = DisposalScope.Open()
            let t = Tensor.arange(12).reshape [ 3; 4 ]
            let s = t.[1..2, 0..]
            shapeIs [ 2; 4 ] s
            Expect.equal (s.ToInt64s()) [| 4L .. 11L |] "s.ToInt64s()"
            Expect.equal (t.[1, 1..2].ToInt64s()) [| 5L; 6L |] "t.[1, 1..2].ToInt64s()"
            Expect.equal (t.[*, 2].ToInt64s()) [| 2L; 6L; 10L |] "t.[*, 2].ToInt64s()"
            Expect.equal (t.[..1].ToInt64s()) [| 0L; 1L; 2L; 3L; 4L; 5L; 6L; 7L |] "t.[..1].ToInt64s()"
            Expect.equal (t.[0..1, 1..2].ToInt64s()) [| 1L; 2L; 5L; 6L |] "t.[0..1, 1..2].ToInt64s()"
            Expect.equal (t.[2].ToInt64s()) [| 8L; 9L; 10L; 11L |] "t.[2].ToInt64s()"
            Expect.equal ((t.[0].slice (0, 1, 4, 2)).ToInt64s()) [| 1L; 3L |] "(t.[0].slice (0, 1, 4, 2)).ToInt64s()"
            Expect.equal ((t.narrow(0, 1, 2).narrow (1, 2, 2)).ToInt64s()) [| 6L; 7L; 10L; 11L |] "(t.narrow(0, 1, 2).narrow (1, 2, 2)).ToInt64s()"
        }

        test "views index_select gather scatter_add match loops" {
            use scope = DisposalScope.Open()
            let v = randomValues 7 12
            let t = f64 v [ 3; 4 ]
            let idx = Tensor.ofArray [| 2L; 0L; 2L |]
            let rows = t.indexSelect (0, idx)
            shapeIs [ 3; 4 ] rows
            exact (Array.init 12 (fun k -> v.[[| 2; 0; 2 |].[k / 4] * 4 + k % 4])) rows
            let cols = t.indexSelect (1, Tensor.ofArray [| 3L; 1L |])
            exact (Array.init 6 (fun k -> v.[(k / 2) * 4 + [| 3; 1 |].[k % 2]])) cols
            // gather along dim 1: out[i, j] = t[i, index[i, j]].
            let gi = [| 0L; 3L; 3L; 1L; 2L; 2L |]
            let g = t.gather (1, Tensor.ofArray (gi, [ 3; 2 ]))
            exact (Array.init 6 (fun k -> v.[(k / 2) * 4 + int gi.[k]])) g
            // scatter_add along dim 0: out[index[i, j], j] += src[i, j].
            let src = randomValues 8 8
            let si = [| 0L; 2L; 2L; 1L; 2L; 2L; 0L; 0L |]
            let acc = Array.copy v
            for k in 0..7 do
                let j = k % 4
                acc.[int si.[k] * 4 + j] <- acc.[int si.[k] * 4 + j] + src.[k]
            let sa = t.scatterAdd (0, Tensor.ofArray (si, [ 2; 4 ]), f64 src [ 2; 4 ])
            close acc sa
            // scatter_add returns a copy: the input is unchanged.
            exact v t
        }

        test "views cat stack flip repeat match loops" {
            use scope = DisposalScope.Open()
            let a = f64 [| 1.0; 2.0; 3.0; 4.0 |] [ 2; 2 ]
            let b = f64 [| 5.0; 6.0 |] [ 1; 2 ]
            let c0 = Tensor.cat ([ a; b ], 0)
            shapeIs [ 3; 2 ] c0
            exact [| 1.0; 2.0; 3.0; 4.0; 5.0; 6.0 |] c0
            let c1 = Tensor.cat ([ a; b.transpose (0, 1) ], 1)
            shapeIs [ 2; 3 ] c1
            exact [| 1.0; 2.0; 5.0; 3.0; 4.0; 6.0 |] c1
            let s = Tensor.stack ([ a; a * 10.0 ], 1)
            shapeIs [ 2; 2; 2 ] s
            exact [| 1.0; 2.0; 10.0; 20.0; 3.0; 4.0; 30.0; 40.0 |] s
            exact [| 2.0; 1.0; 4.0; 3.0 |] (a.flip [ 1 ])
            exact [| 4.0; 3.0; 2.0; 1.0 |] (a.flip [ 0; 1 ])
            let r = a.repeat [ 2; 3 ]
            shapeIs [ 4; 6 ] r
            let av = [| 1.0; 2.0; 3.0; 4.0 |]
            exact (Array.init 24 (fun k -> let i, j = k / 6, k % 6 in av.[(i % 2) * 2 + j % 2])) r
            let parts = (Tensor.arange 7).split (3)
            Expect.equal parts.Length 3 "parts.Length"
            Expect.equal (parts.[2].ToInt64s()) [| 6L |] "parts.[2].ToInt64s()"
            let rows = a.unbind ()
            exact [| 3.0; 4.0 |] rows.[1]
        }

        testPropertyWithConfig (propertyConfig 20) "linear algebra matmul and bmm match the triple loop" (
            let sizes = Gen.zip (Gen.zip (Gen.choose (1, 6)) (Gen.choose (1, 6))) (Gen.zip (Gen.choose (1, 6)) (Gen.choose (0, 100000)))
            Prop.forAll (Arb.fromGen sizes) (fun ((n, k), (m, seed)) ->
                use scope = DisposalScope.Open()
                let a = randomValues seed (n * k)
                let b = randomValues (seed + 1) (k * m)
                let c = (f64 a [ n; k ]).matmul (f64 b [ k; m ])
                shapeIs [ n; m ] c
                close (matmulLoop a b n k m) c))

        test "linear algebra matmul and bmm match the triple loop (examples)" {
            use scope = DisposalScope.Open()
            let a = randomValues 11 (3 * 2 * 4)
            let b = randomValues 12 (3 * 4 * 5)
            let c = (f64 a [ 3; 2; 4 ]).bmm (f64 b [ 3; 4; 5 ])
            shapeIs [ 3; 2; 5 ] c
            close (Array.init 3 (fun p -> matmulLoop a.[p * 8 .. p * 8 + 7] b.[p * 20 .. p * 20 + 19] 2 4 5) |> Array.concat) c
            // matmul broadcasts a matrix against a batch.
            let w = randomValues 13 (4 * 5)
            let cb = (f64 a [ 3; 2; 4 ]).matmul (f64 w [ 4; 5 ])
            close (Array.init 3 (fun p -> matmulLoop a.[p * 8 .. p * 8 + 7] w 2 4 5) |> Array.concat) cb
            // float32 too, with float32 tolerance.
            let c32 = (Tensor.ofArray (Array.map float32 a, [ 6; 4 ])).matmul (Tensor.ofArray (Array.map float32 w, [ 4; 5 ]))
            assertClose 1e-5 1e-4 (matmulLoop (Array.map (float32 >> float) a) (Array.map (float32 >> float) w) 6 4 5) (c32.ToFloat64s())
        }

        test "linear algebra det of known matrices" {
            use scope = DisposalScope.Open()
            let det (rows: float list list) = (Tensor.ofArray2D (array2D rows)).det().ToScalar()
            let near expected actual = Expect.isTrue (abs (expected - actual) < 1e-12) (sprintf "det: expected %g, got %g" expected actual)
            near 1.0 (det [ [ 1.0; 0.0; 0.0 ]; [ 0.0; 1.0; 0.0 ]; [ 0.0; 0.0; 1.0 ] ])
            near 24.0 (det [ [ 2.0; 0.0; 0.0 ]; [ 0.0; 3.0; 0.0 ]; [ 0.0; 0.0; 4.0 ] ])
            near -2.0 (det [ [ 1.0; 2.0 ]; [ 3.0; 4.0 ] ])
            near 0.0 (det [ [ 1.0; 2.0; 3.0 ]; [ 4.0; 5.0; 6.0 ]; [ 7.0; 8.0; 9.0 ] ])
            near -1.0 (det [ [ 0.0; 1.0; 0.0 ]; [ 1.0; 0.0; 0.0 ]; [ 0.0; 0.0; 1.0 ] ])
            // Upper triangular: the product of the diagonal.
            near (2.0 * -3.0 * 0.5) (det [ [ 2.0; 7.0; -1.0 ]; [ 0.0; -3.0; 4.0 ]; [ 0.0; 0.0; 0.5 ] ])
            // Batched: (2, 2, 2) gives (2,).
            let batch = f64 [| 1.0; 2.0; 3.0; 4.0; 2.0; 0.0; 0.0; 5.0 |] [ 2; 2; 2 ]
            close [| -2.0; 10.0 |] (batch.det ())
        }

        test "linear algebra svd reconstructs with orthonormal factors" {
            use scope = DisposalScope.Open()
            let check (rows: int) (cols: int) seed =
                let a = f64 (randomValues seed (rows * cols)) [ rows; cols ]
                let u, s, vh = a.svd ()
                let k = min rows cols
                shapeIs [ rows; k ] u
                shapeIs [ k ] s
                shapeIs [ k; cols ] vh
                let sv = s.ToFloat64s()
                Expect.isTrue (sv |> Array.forall (fun x -> x >= 0.0)) "singular values must be non-negative"
                Expect.isTrue (sv |> Array.pairwise |> Array.forall (fun (x, y) -> x >= y)) "singular values must be descending"
                let uv, vv = u.ToFloat64s(), vh.ToFloat64s()
                // U diag(S) Vh, UᵀU and Vh Vhᵀ by loops.
                let sumOver n (term: int -> float) = Seq.sum (Seq.init n term)
                let rebuilt =
                    Array.init (rows * cols) (fun idx ->
                        let i, j = idx / cols, idx % cols
                        sumOver k (fun l -> uv.[i * k + l] * sv.[l] * vv.[l * cols + j]))
                assertClose 1e-12 1e-10 (a.ToFloat64s()) rebuilt
                let identity = Array.init (k * k) (fun idx -> if idx / k = idx % k then 1.0 else 0.0)
                let uTu = Array.init (k * k) (fun idx -> sumOver rows (fun i -> uv.[i * k + idx / k] * uv.[i * k + idx % k]))
                let vVt = Array.init (k * k) (fun idx -> sumOver cols (fun j -> vv.[(idx / k) * cols + j] * vv.[(idx % k) * cols + j]))
                assertClose 1e-12 0.0 identity uTu
                assertClose 1e-12 0.0 identity vVt
            check 4 3 21
            check 3 5 22
            check 4 4 23
            // Known singular values: a scaled rotation has both equal to the scale; a diagonal its |entries|.
            let c, sn = cos 0.7, sin 0.7
            let _, s1, _ = (Tensor.ofArray2D (array2D [ [ 3.0 * c; -3.0 * sn ]; [ 3.0 * sn; 3.0 * c ] ])).svd ()
            close [| 3.0; 3.0 |] s1
            let _, s2, _ = (Tensor.ofArray2D (array2D [ [ 0.0; -2.0; 0.0 ]; [ 5.0; 0.0; 0.0 ]; [ 0.0; 0.0; 1.0 ] ])).svd ()
            close [| 5.0; 2.0; 1.0 |] s2
        }

        testPropertyWithConfig (propertyConfig 30) "linear algebra cross product identities" (
            Prop.forAll (Arb.fromGen (Gen.choose (0, 100000))) (fun seed ->
                use scope = DisposalScope.Open()
                let a = randomValues seed 3
                let b = randomValues (seed + 7) 3
                let ta, tb = f64 a [ 3 ], f64 b [ 3 ]
                let c = ta.cross tb
                let expected = [| a.[1] * b.[2] - a.[2] * b.[1]; a.[2] * b.[0] - a.[0] * b.[2]; a.[0] * b.[1] - a.[1] * b.[0] |]
                close expected c
                // Anti-commutes, is orthogonal to both, and a × a = 0.
                close (Array.map (fun x -> -x) expected) (tb.cross ta)
                Expect.isTrue (abs ((c * ta).sum().ToScalar()) < 1e-12) "abs ((c * ta).sum().ToScalar()) < 1e-12"
                Expect.isTrue (abs ((c * tb).sum().ToScalar()) < 1e-12) "abs ((c * tb).sum().ToScalar()) < 1e-12"
                close [| 0.0; 0.0; 0.0 |] (ta.cross ta)))

        test "linear algebra cross product identities (examples)" {
            use scope = DisposalScope.Open()
            let e = Tensor.eye (3, Float64)
            // Rows of a batch: e1 × e2 = e3, e2 × e3 = e1, e3 × e1 = e2.
            let c = e.cross (e.indexSelect (0, Tensor.ofArray [| 1L; 2L; 0L |]), dim = 1)
            exact [| 0.0; 0.0; 1.0; 1.0; 0.0; 0.0; 0.0; 1.0; 0.0 |] c
        }

        // ---------------------------------------------------------------- random

        test "random same seed same numbers, different seeds differ" {
            use scope = DisposalScope.Open()
            let draw seed =
                use g = generator seed
                let a = (Tensor.rand ([ 64 ], g, Float64)).ToFloat64s()
                let b = (Tensor.randn ([ 64 ], g)).ToFloat64s()
                let c = (Tensor.randint (0L, 1000L, [ 64 ], g)).ToInt64s()
                a, b, c
            let a1, b1, c1 = draw 42
            let a2, b2, c2 = draw 42
            let a3, b3, c3 = draw 43
            Expect.equal a2 a1 "a2"
            Expect.equal b2 b1 "b2"
            Expect.equal c2 c1 "c2"
            Expect.notEqual a3 a1 "a3"
            Expect.notEqual b3 b1 "b3"
            Expect.notEqual c3 c1 "c3"
            // A generator advances: two draws from one generator differ.
            use g = generator 7
            Expect.notEqual ((Tensor.rand ([ 8 ], g)).ToFloat64s()) ((Tensor.rand ([ 8 ], g)).ToFloat64s()) "(Tensor.rand ([ 8 ], g)).ToFloat64s()"
            Expect.equal g.Seed 7UL "g.Seed"
        }

        test "random distributions have the right moments and ranges" {
            use scope = DisposalScope.Open()
            use g = generator 3
            let n = 200000
            let moments (xs: float[]) = let m = Array.average xs in m, (xs |> Array.averageBy (fun x -> (x - m) * (x - m)))
            let u = (Tensor.rand ([ n ], g, Float64)).ToFloat64s()
            let mu, vu = moments u
            // Standard error of the mean is sqrt(1/12/n) ≈ 6.5e-4; 5e-3 is about 8 of them.
            Expect.isTrue (abs (mu - 0.5) < 5e-3) (sprintf "uniform mean %g" mu)
            Expect.isTrue (abs (vu - 1.0 / 12.0) < 3e-3) (sprintf "uniform variance %g" vu)
            Expect.isTrue (u |> Array.forall (fun x -> x >= 0.0 && x < 1.0)) "u |> Array.forall (fun x -> x >= 0.0 && x < 1.0)"
            let z = (Tensor.randn ([ n ], g, Float64)).ToFloat64s()
            let mz, vz = moments z
            Expect.isTrue (abs mz < 1e-2) (sprintf "normal mean %g" mz)
            Expect.isTrue (abs (vz - 1.0) < 2e-2) (sprintf "normal variance %g" vz)
            let w = (Tensor.uniform ([ n ], -2.0, 4.0, g, Float64)).ToFloat64s()
            let mw, vw = moments w
            Expect.isTrue (abs (mw - 1.0) < 3e-2 && abs (vw - 3.0) < 6e-2) (sprintf "uniform(-2, 4): mean %g variance %g" mw vw)
            Expect.isTrue (w |> Array.forall (fun x -> x >= -2.0 && x < 4.0)) "w |> Array.forall (fun x -> x >= -2.0 && x < 4.0)"
            let nm = (Tensor.normal ([ n ], 3.0, 0.5, g, Float64)).ToFloat64s()
            let mn, vn = moments nm
            Expect.isTrue (abs (mn - 3.0) < 1e-2 && abs (vn - 0.25) < 1e-2) (sprintf "normal(3, 0.5): mean %g variance %g" mn vn)
            let r = (Tensor.randint (-3L, 4L, [ 10000 ], g)).ToInt64s()
            Expect.isTrue (r |> Array.forall (fun x -> x >= -3L && x < 4L)) "r |> Array.forall (fun x -> x >= -3L && x < 4L)"
            Expect.equal ((Array.distinct r).Length) 7 "(Array.distinct r).Length"
            let p = (Tensor.randperm (50, g)).ToInt64s()
            Expect.equal (Array.sort p) [| 0L .. 49L |] "Array.sort p"
            let coins = (Tensor.full ([ n ], 0.3, Float64)).bernoulli g
            let heads = coins.ToFloat64s() |> Array.average
            Expect.isTrue (abs (heads - 0.3) < 1e-2) (sprintf "bernoulli(0.3) mean %g" heads)
        }

        // ---------------------------------------------------------------- errors

        testSequenced <| test "errors shape mismatch names the op and both shapes, and the process lives on" {
            use scope = DisposalScope.Open()
            let a = Tensor.ones [ 2; 3 ]
            let b = Tensor.ones [ 4; 5 ]
            let e = Expect.catchT<NativeError> (fun () -> a + b |> ignore) "a + b"
            Expect.stringContains e.Message "aten::add" "e.Message"
            Expect.stringContains e.Message "[2, 3]" "e.Message"
            Expect.stringContains e.Message "[4, 5]" "e.Message"
            Expect.stringDoesNotContain e.Message "\n" "e.Message"
            let m = Expect.catchT<NativeError> (fun () -> a.matmul b |> ignore) "a.matmul b"
            Expect.stringContains m.Message "aten::matmul" "m.Message"
            Expect.stringContains m.Message "[2, 3]" "m.Message"
            Expect.stringContains m.Message "[4, 5]" "m.Message"
            let c = Expect.catchT<NativeError> (fun () -> Tensor.cat ([ a; b ], 0) |> ignore) "Tensor.cat ([ a; b ], 0)"
            Expect.stringContains c.Message "aten::cat" "c.Message"
            Expect.stringContains c.Message "[4, 5]" "c.Message"
            // Still alive: the next operations work and nothing leaked from the failed calls.
            let live = settledLiveCount ()
            let ok = a + a
            exact (Array.create 6 2.0) ok
            Expect.equal Tensor.LiveCount (live + 1L) "Tensor.LiveCount"
        }

        test "errors wrong dtype names the op and the dtypes" {
            use scope = DisposalScope.Open()
            let i = Tensor.ones ([ 2; 3 ], Int64)
            let f = Tensor.ones ([ 3; 2 ], Float32)
            let e = Expect.catchT<NativeError> (fun () -> i.matmul f |> ignore) "i.matmul f"
            Expect.stringContains e.Message "aten::matmul" "e.Message"
            Expect.stringContains e.Message "int64[2, 3]" "e.Message"
            Expect.stringContains e.Message "float32[3, 2]" "e.Message"
            let x = Tensor.ones [ 4; 2 ]
            let s = Expect.catchT<NativeError> (fun () -> x.indexSelect (0, Tensor.ofArray [| 0.0f; 1.0f |]) |> ignore) "x.indexSelect (0, Tensor.ofArray [| 0.0f; 1.0f |])"
            Expect.stringContains s.Message "aten::index_select" "s.Message"
            Expect.stringContains s.Message "float32[2]" "s.Message"
            Expect.stringContains s.Message "int64" "s.Message"
            let g = Expect.catchT<NativeError> (fun () -> x.gather (1, Tensor.ofArray ([| 0.0; 1.0 |], [ 2; 1 ])) |> ignore) "x.gather (1, Tensor.ofArray ([| 0.0; 1.0 |], [ 2; 1 ]))"
            Expect.stringContains g.Message "aten::gather" "g.Message"
            Expect.stringContains g.Message "float64[2, 1]" "g.Message"
            let op = Expect.catchT<NativeError> (fun () -> Tensor.Call(Op("aten::no_such_op"), Arg.T x) |> ignore) "Tensor.Call(Op(\"aten::no_such_op\"), Arg.T x)"
            Expect.stringContains op.Message "aten::no_such_op" "op.Message"
            let arg = Expect.catchT<NativeError> (fun () -> Tensor.Call(Op("aten::sum", "dim_IntList"), Arg.T x, Arg.S "oops") |> ignore) "Tensor.Call(Op(\"aten::sum\", \"dim_IntList\"), Arg.T x, Arg.S \"oops\")"
            Expect.stringContains arg.Message "aten::sum.dim_IntList" "arg.Message"
            Expect.stringContains arg.Message "'dim'" "arg.Message"
            exact (Array.create 8 2.0) (x + x)
        }

        test "errors using a disposed tensor raises ObjectDisposedException" {
            let t = Tensor.ones [ 2 ]
            (t :> IDisposable).Dispose()
            Expect.isTrue t.IsDisposed "t.IsDisposed"
            Expect.throwsT<ObjectDisposedException> (fun () -> t + t |> ignore) "t + t"
            Expect.throwsT<ObjectDisposedException> (fun () -> t.Shape |> ignore) "t.Shape"
            Expect.throwsT<ObjectDisposedException> (fun () -> t.ToFloat32s() |> ignore) "t.ToFloat32s()"
            Expect.throwsT<ObjectDisposedException> (fun () -> Tensor.cat [ t ] |> ignore) "Tensor.cat [ t ]"
            // Disposing twice is harmless.
            (t :> IDisposable).Dispose()
            Expect.equal (string t) "Tensor(disposed)" "string t"
            let escaped =
                use scope = DisposalScope.Open()
                Tensor.ones [ 3 ]
            let e = Expect.catchT<ObjectDisposedException> (fun () -> escaped.sum () |> ignore) "escaped.sum ()"
            Expect.stringContains e.Message "scope" "e.Message"
        }

        // ---------------------------------------------------------------- disposal scopes

        testSequenced <| test "scopes free what they create" {
            let start = settledLiveCount ()
            let created =
                use scope = DisposalScope.Open()
                let a = Tensor.ones [ 10 ]
                let b = a * 2.0 + 1.0
                let c, i = b.max 0
                Expect.isTrue (Tensor.LiveCount >= start + 5L) "Tensor.LiveCount >= start + 5L"
                Expect.equal scope.Count 5 "scope.Count"
                [ a; b; c; i ]
            Expect.equal Tensor.LiveCount start "Tensor.LiveCount"
            Expect.isTrue (created |> List.forall (fun t -> t.IsDisposed)) "created |> List.forall (fun t -> t.IsDisposed)"
        }

        testSequenced <| test "scopes MoveOut keeps one tensor alive" {
            let start = settledLiveCount ()
            let kept =
                use scope = DisposalScope.Open()
                let a = Tensor.ones [ 3 ]
                let b = a + a
                scope.MoveOut b
            Expect.equal Tensor.LiveCount (start + 1L) "Tensor.LiveCount"
            Expect.isFalse kept.IsDisposed "kept.IsDisposed"
            exact [| 2.0; 2.0; 2.0 |] kept
            (kept :> IDisposable).Dispose()
            Expect.equal Tensor.LiveCount start "Tensor.LiveCount"
        }

        testSequenced <| test "scopes nest: an inner MoveOut goes to the outer scope" {
            let start = settledLiveCount ()
            let outer = DisposalScope.Open()
            let a, fromInner =
                try
                    let a = Tensor.ones [ 2 ]
                    let fromInner =
                        use inner = DisposalScope.Open()
                        let tmp = a * 3.0
                        Expect.isTrue (obj.ReferenceEquals(inner.Parent, outer)) "obj.ReferenceEquals(inner.Parent, outer)"
                        inner.MoveOut(tmp + 1.0)
                    // Inner temporaries are gone, the moved tensor is owned by the outer scope.
                    Expect.equal Tensor.LiveCount (start + 2L) "Tensor.LiveCount"
                    Expect.equal outer.Count 2 "outer.Count"
                    exact [| 4.0; 4.0 |] fromInner
                    a, fromInner
                finally
                    (outer :> IDisposable).Dispose()
            Expect.equal Tensor.LiveCount start "Tensor.LiveCount"
            Expect.isTrue (a.IsDisposed && fromInner.IsDisposed) "a.IsDisposed && fromInner.IsDisposed"
            // With no scope open, tensors belong to nobody and live until disposed.
            let free = Tensor.ones [ 1 ]
            Expect.equal Tensor.LiveCount (start + 1L) "Tensor.LiveCount"
            (free :> IDisposable).Dispose()
            Expect.equal Tensor.LiveCount start "Tensor.LiveCount"
        }

        testSequenced <| test "scopes free after an exception" {
            let start = settledLiveCount ()
            let failing () =
                use scope = DisposalScope.Open()
                let a = Tensor.ones [ 2; 3 ]
                let b = a * 2.0
                b + Tensor.ones [ 4; 5 ] |> ignore
            Expect.throwsT<NativeError> (fun () -> failing ()) "failing ()"
            Expect.equal Tensor.LiveCount start "Tensor.LiveCount"
            // The current scope was restored: a tensor created now is not adopted by the dead scope.
            let t = Tensor.ones [ 1 ]
            Expect.equal Tensor.LiveCount (start + 1L) "Tensor.LiveCount"
            (t :> IDisposable).Dispose()
        }

        testSequenced <| test "scopes keep the live count flat over many steps" {
            use outer = DisposalScope.Open()
            let w = Tensor.ones [ 8; 8 ]
            let step () =
                use scope = DisposalScope.Open()
                let x = (w.matmul w).relu().sum 0
                let v, i = x.topk 3
                (v.sum () + i.sum ()).ToScalar() |> ignore
            step ()
            let after1 = settledLiveCount ()
            for _ in 1..200 do step ()
            Expect.equal Tensor.LiveCount after1 "Tensor.LiveCount"
        }

        testSequenced <| test "operators and copies free their own temporaries" {
            // Outside any scope, so a leaked temporary would show in the live count.
            let x = Tensor.ofArray [| 1.0f; 2.0f |]
            let start = settledLiveCount ()
            let check name (make: unit -> Tensor) =
                let r = make ()
                Expect.isTrue (Tensor.LiveCount = start + 1L) (sprintf "%s left %d tensors alive, expected 1" name (Tensor.LiveCount - start))
                (r :> IDisposable).Dispose()
            check "scalar / tensor" (fun () -> 0.5 / x)
            check "slice" (fun () -> x.[0..0])
            check "uniform" (fun () -> use g = generator 1 in Tensor.uniform ([ 2 ], -1.0, 1.0, g))
            for name, copy in [ "ToFloat64s", (fun () -> x.ToFloat64s() |> ignore); "ToInt64s", (fun () -> x.ToInt64s() |> ignore); "ToBools", (fun () -> x.ToBools() |> ignore) ] do
                copy ()
                Expect.isTrue (Tensor.LiveCount = start) (sprintf "%s leaked %d tensors" name (Tensor.LiveCount - start))
            (x :> IDisposable).Dispose()
        }

        test "scopes do not grow when a loop disposes its tensors with use" {
            use scope = DisposalScope.Open()
            let a = Tensor.ones [ 4 ]
            let start = scope.Count
            for _ in 1..1000 do
                use b = a * 2.0
                use c = b + a
                ()
            Expect.equal scope.Count start "scope.Count"
        }

        testSequenced <| test "scopes disposed out of order adopt nothing afterwards" {
            let start = settledLiveCount ()
            let outer = DisposalScope.Open()
            let inner = DisposalScope.Open()
            let x = Tensor.ones [ 2 ]
            (outer :> IDisposable).Dispose()
            // inner is still open and still current.
            let y = Tensor.ones [ 2 ]
            Expect.equal inner.Count 2 "inner.Count"
            (inner :> IDisposable).Dispose()
            Expect.isTrue (x.IsDisposed && y.IsDisposed) "x.IsDisposed && y.IsDisposed"
            Expect.equal Tensor.LiveCount start "Tensor.LiveCount"
            // Both are dead: a new tensor belongs to no scope and lives until disposed.
            let z = Tensor.ones [ 2 ]
            Expect.equal inner.Count 0 "inner.Count"
            Expect.equal outer.Count 0 "outer.Count"
            Expect.isFalse z.IsDisposed "z.IsDisposed"
            (z :> IDisposable).Dispose()
            Expect.equal Tensor.LiveCount start "Tensor.LiveCount"
        }

        testSequenced <| test "scopes and tensors dropped undisposed are freed by the garbage collector as a last resort" {
            let start = settledLiveCount ()
            let collect () =
                for _ in 1..3 do
                    GC.Collect()
                    GC.WaitForPendingFinalizers()
            // Unscoped tensors, dropped.
            onEndedThread (fun () ->
                for _ in 1..10 do
                    Tensor.ones [ 3 ] + Tensor.ones [ 3 ] |> ignore)
            collect ()
            Expect.equal Tensor.LiveCount start "Tensor.LiveCount"
            // A scope never disposed, on a thread that has ended: its tensors are released too.
            onEndedThread (fun () ->
                let _scope = DisposalScope.Open()
                for _ in 1..10 do
                    Tensor.ones [ 3 ] * 2.0 |> ignore)
            collect ()
            Expect.equal Tensor.LiveCount start "Tensor.LiveCount"
            // ...but not those still reachable from elsewhere; a kept tensor's owner link keeps its
            // undisposed scope (and the scope's temporary) alive until it goes.
            let kept = ref null
            onEndedThread (fun () ->
                let _scope = DisposalScope.Open()
                kept.Value <- Tensor.ones [ 3 ] * 2.0)
            collect ()
            exact [| 2.0; 2.0; 2.0 |] kept.Value
            Expect.equal Tensor.LiveCount (start + 2L) "Tensor.LiveCount"
            (kept.Value :> IDisposable).Dispose()
            kept.Value <- null
            collect ()
            Expect.equal Tensor.LiveCount start "Tensor.LiveCount"
        }
    ]
