/// The perceptual network against ONNX Runtime on the package's own ONNX files, the distance's
/// properties and gradient, and the ONNX reader's errors.
module Reconstruct.Tests.PerceptualTests

open System
open System.IO
open Expecto
open Google.Protobuf
open Microsoft.ML.OnnxRuntime
open Microsoft.ML.OnnxRuntime.Tensors
open Reconstruct.Torch
open Reconstruct.Stages
open Reconstruct.Tests.TestHelpers

/// Loaded once, outside any disposal scope (so no test's scope adopts and frees it). The package
/// is a build dependency: a missing file fails the tests that use it, with defaultPath's reason.
let private network = lazy (Perceptual.load (Perceptual.defaultPath ()))

let private prepPath () =
    Path.Combine(Path.GetDirectoryName(Perceptual.defaultPath ()), "..", "ResNetPrepOnnx", "ResNetPreprocess.onnx")

/// Images (B, 3, S, S) in [0, 1]: `random` uniform ones, then one structured image (a diagonal
/// ramp in red, a checkerboard in green, a disc in blue).
let private images (seed: int) (random: int) (size: int) =
    let r = Random(seed)
    let plane = size * size
    let structured =
        Array.init (3 * plane) (fun k ->
            let c, y, x = k / plane, (k % plane) / size, k % size
            match c with
            | 0 -> float32 (x + y) / float32 (2 * size)
            | 1 -> if ((x / 8) + (y / 8)) % 2 = 0 then 0.9f else 0.1f
            | _ ->
                let dx, dy = float (x - size / 2), float (y - size / 3)
                if dx * dx + dy * dy < float (size * size) / 10.0 then 1.0f else 0.2f)
    let data = Array.append (Array.init (random * 3 * plane) (fun _ -> float32 (r.NextDouble()))) structured
    Tensor.ofArray (data, [ random + 1; 3; size; size ])

/// Protobuf bytes of one message, written by `write`.
let private message (write: CodedOutputStream -> unit) =
    use buffer = new MemoryStream()
    let output = new CodedOutputStream(buffer)
    write output
    output.Flush()
    ByteString.CopyFrom(buffer.ToArray())

/// A length-delimited field (a string, bytes or an embedded message).
let private field (number: int) (payload: ByteString) (output: CodedOutputStream) =
    output.WriteTag(number, WireFormat.WireType.LengthDelimited)
    output.WriteBytes payload

/// ModelProto bytes with these extra graph outputs (float tensors): a second `graph` field
/// appended to the file, which protobuf merges into the first (a singular message field).
let private withOutputs (model: byte[]) (names: string list) =
    let floatTensorType = message (field 1 (message (fun o -> o.WriteTag(1, WireFormat.WireType.Varint); o.WriteInt32 1)))
    let graph =
        message (fun o ->
            for name in names do
                field 12 (message (fun v -> v.WriteTag(1, WireFormat.WireType.LengthDelimited); v.WriteString name; field 2 floatTensorType v)) o)
    Array.append model ((message (field 7 graph)).ToByteArray())

/// ORT's outputs by name for one image (1, 3, 224, 224) RGB 0..255: the preprocessing model,
/// then the network.
let private runOrt (prep: InferenceSession) (resnet: InferenceSession) (image: float32[]) (outputs: string list) =
    let dims = [| 1; 3; 224; 224 |]
    let feed (session: InferenceSession) (data: float32[]) =
        let name = Seq.head session.InputMetadata.Keys
        [ NamedOnnxValue.CreateFromTensor(name, DenseTensor<float32>(Memory<float32>(data), ReadOnlySpan<int>(dims))) ]
    use prepared = prep.Run(feed prep image)
    let bgr = Array.ofSeq ((Seq.head prepared).AsTensor<float32>())
    use results = resnet.Run(feed resnet bgr, outputs)
    [ for r in results -> r.Name, Array.ofSeq (r.AsTensor<float32>()) ] |> Map.ofList

let private oracle =
    test "forward equals ONNX Runtime at 224 (conv1, layer1..3, pooled)" {
        let network = network.Force()
        use scope = DisposalScope.Open()
        let model = Onnx.read network.Path
        let reluAfter (name: string) = (model.Nodes |> List.find (fun n -> n.OpType = "Relu" && n.Inputs = [ name ])).Outputs.Head
        let adds = model.Nodes |> List.filter (fun n -> n.OpType = "Add") |> List.map (fun n -> n.Outputs.Head)
        let names =
            [ Perceptual.Layer.Conv1, (model.Nodes |> List.find (fun n -> n.OpType = "Relu")).Outputs.Head
              Perceptual.Layer.Layer1, reluAfter adds.[1]
              Perceptual.Layer.Layer2, reluAfter adds.[3]
              Perceptual.Layer.Layer3, reluAfter adds.[5]
              Perceptual.Layer.Pooled, model.Outputs.Head ]
        Onnx.dispose model
        use prep = new InferenceSession(prepPath ())
        use resnet = new InferenceSession(withOutputs (File.ReadAllBytes network.Path) (List.map snd names))
        let batch = images 5 2 224
        let ours = Perceptual.features network (List.map fst names) batch
        let mutable worst = 0.0
        for b in 0 .. batch.Size 0 - 1 do
            let reference = runOrt prep resnet ((batch.[b] * 255.0).ToFloat32s()) (List.map snd names)
            for (layer, name), (mine: Tensor) in List.zip names ours do
                let expected = reference.[name]
                let actual = mine.[b].ToFloat32s()
                Expect.equal actual.Length expected.Length (sprintf "%A: value count" layer)
                let scale = expected |> Array.map abs |> Array.max |> float
                let error = (Array.map2 (fun (a: float32) e -> abs (float a - float e)) actual expected |> Array.max) / scale
                worst <- max worst error
                Expect.isLessThan error 1e-4 (sprintf "image %d, %A: max |ours − ORT| / max |ORT| (max |ORT| = %g)" b layer scale)
        printfn "Perceptual oracle: worst max|ours - ORT| / max|ORT| over 3 images x 5 layers = %.3g" worst
    }

let private properties =
    test "distance is 0 for identical images, positive otherwise, symmetric, in [0, 4 / 64]" {
        let network = network.Force()
        use scope = DisposalScope.Open()
        let a = images 1 2 64
        // Mirrored, so its structured image differs from a's too.
        let b = (images 2 2 64).flip [ 3 ]
        for options in [ Perceptual.Options.Defaults
                         { Perceptual.Options.Defaults with Resize = Some 128 }
                         { Layers = [ Perceptual.Layer.Layer3; Perceptual.Layer.Pooled ]; Resize = None } ] do
            let same = (Perceptual.distance network options a a).ToFloat64s()
            let ab = (Perceptual.distance network options a b).ToFloat64s()
            let ba = (Perceptual.distance network options b a).ToFloat64s()
            Expect.equal same (Array.zeroCreate 3) (sprintf "%A: d(a, a)" options)
            for k in 0..2 do
                Expect.isInRange ab.[k] 1e-5 (4.0 / 64.0) (sprintf "%A: d(a, b) of image %d" options k)
                Expect.floatClose { absolute = 1e-6; relative = 1e-5 } ba.[k] ab.[k] (sprintf "%A: d(b, a) = d(a, b), image %d" options k)
        let shifted = (Perceptual.distance network Perceptual.Options.Defaults a (a * 0.98 + 0.01)).ToFloat64s()
        let unrelated = (Perceptual.distance network Perceptual.Options.Defaults a b).ToFloat64s()
        for k in 0..2 do
            Expect.isLessThan shifted.[k] unrelated.[k] (sprintf "a slightly dimmed image is nearer than another image (%d)" k)
    }

let private gradient =
    test "gradient wrt predicted equals finite differences (float64, 12x12, conv1..layer2)" {
        let network32 = network.Force()
        use scope = DisposalScope.Open()
        let network = Perceptual.cast Float64 network32
        // 12x12 reaches layer2 at an odd size (3x3 -> 1x1), where the asymmetric padding needs
        // the explicit-pad path.
        let predicted = (images 3 1 12).[0..0].cast Float64
        let target = (images 4 1 12).[1..1].cast Float64
        let weights = Tensor.ofArray ([| 1.0 |], [ 1 ])
        gradcheck "Perceptual.distance" (fun x -> (Perceptual.distance network Perceptual.Options.Defaults x target * weights).sum ()) predicted
    }

let private memory =
    test "distance forward and backward leave the live-tensor count unchanged" {
        let network = network.Force()
        let run () =
            use scope = DisposalScope.Open()
            let a = (images 7 1 32).RequireGrad()
            let b = images 8 1 32
            (Perceptual.distance network Perceptual.Options.Defaults a b).sum().backward ()
        run ()
        let before = settledLiveCount ()
        for _ in 1..3 do
            run ()
        Expect.equal Tensor.LiveCount before "live tensors after 3 more calls"
    }

let private readerErrors =
    test "reader: a missing, a garbage and a non-float file give one-line errors naming the file" {
        use dir = new TempDir()
        let oneLine (path: string) (contains: string) =
            let e = Expect.catchT<Onnx.OnnxError> (fun () -> Onnx.read path |> Onnx.dispose) (sprintf "reading %s" path)
            let message = (e :> exn).Message
            Expect.stringContains message path "the message names the file"
            Expect.stringContains message contains "the message says what is wrong"
            Expect.isFalse (message.Contains '\n') (sprintf "one line: %s" message)
        oneLine (Path.Combine(dir.Path, "absent.onnx")) "no such file"
        let garbage = Path.Combine(dir.Path, "garbage.onnx")
        File.WriteAllBytes(garbage, Array.init 4096 (fun k -> byte ((k * 7919 + 13) % 251)))
        oneLine garbage "not an ONNX model"
        let text = Path.Combine(dir.Path, "text.onnx")
        File.WriteAllText(text, "this is not a model\nbut some text\n")
        oneLine text "not an ONNX model"
        // A graph with one node and an int64 initializer (data type 7).
        let int64Model = Path.Combine(dir.Path, "int64.onnx")
        let node = message (fun o -> o.WriteTag(4, WireFormat.WireType.LengthDelimited); o.WriteString "Relu")
        let weight =
            message (fun o ->
                o.WriteTag(1, WireFormat.WireType.Varint); o.WriteInt64 1L
                o.WriteTag(2, WireFormat.WireType.Varint); o.WriteInt32 7
                o.WriteTag(8, WireFormat.WireType.LengthDelimited); o.WriteString "counts"
                field 9 (ByteString.CopyFrom(Array.zeroCreate<byte> 8)) o)
        File.WriteAllBytes(int64Model, (message (field 7 (message (fun o -> field 1 node o; field 5 weight o)))).ToByteArray())
        oneLine int64Model "data type 7"
        let e = Expect.catchT<Onnx.OnnxError> (fun () -> Perceptual.load (Path.Combine(dir.Path, "absent.onnx")) |> Perceptual.dispose) "load of a missing file"
        Expect.stringContains (e :> exn).Message "absent.onnx" "load names the file"
    }

[<Tests>]
let tests =
    testList "Perceptual" [ oracle; properties; gradient; readerErrors; testSequenced memory ]
