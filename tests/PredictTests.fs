/// `reconstruct predict` and shipped models: input preparation, float16 model files and their
/// refusals, the outputs per image, bad files in a batch, reruns.
module Reconstruct.Tests.PredictTests

open System
open System.IO
open System.Text.Json
open Expecto
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Pipelines
open Reconstruct.App
open Reconstruct.Tests.TestHelpers

let private small = UnicornPipelineTests.small

/// A model whose every weight is moved off its initialisation: a fresh UNICORN predicts the
/// template in the initial poses whatever its weights (zero last layers), which would hide a
/// weight that failed to load.
let private trained (config: Unicorn.Config) (seed: uint64) =
    use g = new Generator(seed)
    let model = Unicorn.create g config
    use _ = Autograd.noGrad ()
    for _, p in Unicorn.parameters model do
        use _ = DisposalScope.Open()
        p.add_ (Tensor.randn (p.Shape, g) * 0.05) |> ignore
    model

let private images (n: int) (size: int) (seed: uint64) =
    use g = new Generator(seed)
    Tensor.rand ([ n; 3; size; size ], g)

let private savedModel (dir: string) =
    let folder = Path.Combine(dir, "model dir")
    Directory.CreateDirectory folder |> ignore
    let model = trained small 3UL
    Predict.save model (Path.Combine(folder, Predict.ModelFile)) "tiny" 7L []
    Unicorn.dispose model
    folder

/// A 32×32 image file of smooth colours.
let private writeImage (path: string) (format: ImageFormat) (seed: uint64) =
    use _ = DisposalScope.Open()
    use g = new Generator(seed)
    let small = Tensor.rand ([ 1; 3; 4; 4 ], g)
    Image.saveAs format path (Image.resizeWith ResizeMode.Bilinear (32, 32) small).[0]

[<Tests>]
let tests =
    testList "Predict" [
        test "prepare composites alpha on white, keeps the centred square and resizes it" {
            use dir = new TempDir()
            // 40 wide, 20 high: red | blue (transparent top half) | green, 10 + 20 + 10 columns.
            let path = dir.File "stühl bild.png"
            do
                use _ = DisposalScope.Open()
                let rgba = Tensor.zeros [ 4; 20; 40 ]
                rgba.narrow(2, 0, 10).narrow(0, 0, 1).fill_ 1.0 |> ignore
                rgba.narrow(2, 10, 20).narrow(0, 2, 1).fill_ 1.0 |> ignore
                rgba.narrow(2, 30, 10).narrow(0, 1, 1).fill_ 1.0 |> ignore
                rgba.narrow(0, 3, 1).fill_ 1.0 |> ignore
                rgba.narrow(2, 10, 20).narrow(1, 0, 10).narrow(0, 3, 1).fill_ 0.0 |> ignore
                Image.save path rgba
            use input = Predict.prepare 10 path
            Expect.equal input.Shape [| 3; 10; 10 |] "(3, size, size)"
            let v = input.ToFloat32s()
            let at c y x = v.[c * 100 + y * 10 + x]
            for x in 0..9 do
                Expect.floatClose Accuracy.medium (float (at 0 1 x) + float (at 1 1 x) + float (at 2 1 x)) 3.0 "transparent pixels are white"
                Expect.floatClose Accuracy.medium (float (at 2 8 x)) 1.0 "the opaque bottom half is blue"
                Expect.floatClose Accuracy.medium (float (at 0 8 x) + float (at 1 8 x)) 0.0 "no red or green: the side columns were cropped"
            // Over grey (an Unsup3d model's background): the transparent half takes the grey,
            // the opaque half is unchanged.
            use grey = Predict.prepareOver 0.25 10 path
            let g = grey.ToFloat32s()
            for x in 0..9 do
                for c in 0..2 do
                    Expect.floatClose Accuracy.medium (float g.[c * 100 + 10 + x]) 0.25 "transparent pixels take the grey"
                    Expect.floatClose Accuracy.medium (float g.[c * 100 + 80 + x]) (float (at c 8 x)) "opaque pixels as over white"
        }

        test "prepare refuses images below the minimum side and undecodable files, naming the file" {
            use dir = new TempDir()
            for name, (h, w) in [ "one pixel.png", (1, 1); "thin.png", (Predict.MinimumSide - 1, 40) ] do
                let path = dir.File name
                do
                    use _ = DisposalScope.Open()
                    Image.save path (Tensor.ones [ 3; h; w ])
                let e = Expect.catchT<Predict.InputError> (fun () -> Predict.prepare 32 path |> ignore) name
                Expect.stringContains e.Message path "names the file"
                Expect.stringContains e.Message (sprintf "at least %d" Predict.MinimumSide) "says what is needed"
            let good = dir.File "good.png"
            writeImage good ImageFormat.Png 1UL
            let truncated = dir.File "truncated.png"
            File.WriteAllBytes(truncated, (File.ReadAllBytes good).[.. 60])
            let e = Expect.catchT<Predict.InputError> (fun () -> Predict.prepare 32 truncated |> ignore) "truncated"
            Expect.stringContains e.Message truncated "names the file"
            Expect.isFalse (e.Message.Contains '\n') "one line"
        }

        test "prepare refuses an image of more pixels than the decoder takes, naming the file, before decoding it" {
            use dir = new TempDir()
            // A PNG whose header says 10000 × 10000 RGB (the 300 MB a photo that size would
            // take), with no image data: refused on the header alone.
            let path = dir.File "huge photo.png"
            File.WriteAllBytes(path, pngHeader 10000 10000)
            let e = Expect.catchT<Predict.InputError> (fun () -> Predict.prepare 32 path |> ignore) "10000 × 10000"
            Expect.stringContains e.Message path "names the file"
            Expect.isFalse (e.Message.Contains '\n') "one line"
        }

        test "a float16 model file predicts as its float32 original; corrupt, truncated, mismatched and unknown models are refused naming them" {
            use dir = new TempDir()
            let original = trained small 3UL
            let folder = savedModel dir.Path
            use loaded = Predict.load folder
            Expect.isLessThan (FileInfo(Path.Combine(folder, Predict.ModelFile)).Length) (15L * 1024L * 1024L) "within 15 MB"
            do
                use _ = DisposalScope.Open()
                let x = images 2 32 5UL
                let a = Unicorn.predict original x
                let b = Unicorn.predict loaded.Model x
                let difference = ((a.Vertices - b.Vertices).abs ()).max().ToScalar()
                Expect.isLessThan difference 2e-2 "vertices agree within float16's precision"
                let other = trained small 4UL
                let c = Unicorn.predict other x
                Expect.isGreaterThan (((a.Vertices - c.Vertices).abs ()).max().ToScalar()) (10.0 * difference) "another model's weights predict otherwise"
                Unicorn.dispose other
            Unicorn.dispose original
            let file = Path.Combine(folder, Predict.ModelFile)
            let bytes = File.ReadAllBytes file
            let corrupt = dir.File "corrupt.safetensors"
            let flipped = Array.copy bytes
            flipped.[flipped.Length - 3] <- flipped.[flipped.Length - 3] ^^^ 0x40uy
            File.WriteAllBytes(corrupt, flipped)
            let truncated = dir.File "truncated.safetensors"
            File.WriteAllBytes(truncated, bytes.[.. bytes.Length / 2])
            // Weights of a wider encoder under the small model's configuration.
            let mismatched = dir.File "mismatched.safetensors"
            do
                let wide = trained { small with EncoderWidth = 16 } 3UL
                let widePath = dir.File "wide.safetensors"
                Predict.save wide widePath "wide" 1L []
                Unicorn.dispose wide
                use contents = Checkpoint.load widePath
                Checkpoint.save mismatched contents.Tensors { contents.Metadata with Config = (Checkpoint.readMetadata file).Config }
            for path, says in [ corrupt, "checksum"; truncated, ""; mismatched, "tensor '" ] do
                let e = Expect.catchT<Predict.ModelError> (fun () -> (Predict.load path :> IDisposable).Dispose()) path
                Expect.stringContains e.Message path "names the file"
                Expect.stringContains e.Message says "says what is wrong"
                Expect.isFalse (e.Message.Contains '\n') "one line"
            let e = Expect.catchT<Predict.ModelError> (fun () -> (Predict.load "no-such-model" :> IDisposable).Dispose()) "unknown name"
            Expect.stringContains e.Message "shipped models" "lists what there is"
        }

        test "predict writes every output per image, reports bad files and goes on, and a rerun skips complete images" {
            use dir = new TempDir()
            let folder = savedModel dir.Path
            let inputs = Directory.CreateDirectory(dir.File "in put")
            let file name = Path.Combine(inputs.FullName, name)
            writeImage (file "a.png") ImageFormat.Png 1UL
            writeImage (file "a.jpg") (ImageFormat.Jpeg 90) 2UL
            writeImage (file "stühl 2.png") ImageFormat.Png 3UL
            File.WriteAllText(file "notes.txt", "not an image")
            File.WriteAllBytes(file "truncated.png", (File.ReadAllBytes(file "a.png")).[.. 60])
            do
                use _ = DisposalScope.Open()
                Image.save (file "tiny.png") (Tensor.ones [ 3; 1; 1 ])
                Image.save (file "grey.png") (Tensor.full ([ 1; 40; 30 ], 0.5))
            File.WriteAllBytes(file "cut.jpg", (File.ReadAllBytes(file "a.jpg")).[.. 200])
            let options = { Predict.Options.Defaults with Model = folder; Input = inputs.FullName; Out = dir.File "out dir"; Ply = true; Glb = true; BatchSize = 2 }
            let outcomes (s: Predict.Summary) = s.Items |> List.map (fun (input, o) -> Path.GetFileName input, o) |> Map.ofList
            let first = Predict.run options Threading.CancellationToken.None ignore
            let o = outcomes first
            for name in [ "a.png"; "a.jpg"; "stühl 2.png"; "grey.png" ] do
                Expect.isTrue (match o.[name] with Predict.Done _ -> true | _ -> false) (sprintf "%s reconstructed: %A" name o.[name])
            for name in [ "notes.txt"; "truncated.png"; "tiny.png"; "cut.jpg" ] do
                Expect.isTrue (match o.[name] with Predict.Failed _ -> true | _ -> false) (sprintf "%s reported: %A" name o.[name])
            for name in [ "a_png"; "a_jpg"; "stühl 2" ] do
                for f in Predict.outputsOf options name do
                    Expect.isTrue (File.Exists(Path.Combine(options.Out, f))) (sprintf "%s written" f)
            use scope = DisposalScope.Open()
            let mesh = MeshIO.readObj (Path.Combine(options.Out, "a_png.obj"))
            Expect.isSome mesh.UVs "the OBJ carries its UVs"
            Expect.equal (mesh.Faces.Size 0) 1280 "the template's faces"
            use pose = JsonDocument.Parse(File.ReadAllText(Path.Combine(options.Out, "a_png.pose.json")))
            let rows = [| for r in pose.RootElement.GetProperty("rotation").EnumerateArray() -> [| for v in r.EnumerateArray() -> v.GetDouble() |] |]
            for i in 0..2 do
                for j in 0..2 do
                    let dot = Array.fold2 (fun s a b -> s + a * b) 0.0 rows.[i] rows.[j]
                    Expect.floatClose Accuracy.low dot (if i = j then 1.0 else 0.0) "the rotation is orthonormal"
            let probabilities = [ for v in pose.RootElement.GetProperty("probabilities").EnumerateArray() -> v.GetDouble() ]
            Expect.floatClose Accuracy.low (List.sum probabilities) 1.0 "the candidates' probabilities"
            use summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(options.Out, "summary.json")))
            Expect.equal (summary.RootElement.GetProperty("failed").GetInt32()) 4 "summary.json counts the failures"
            let reasons = File.ReadAllText(Path.Combine(options.Out, "summary.md"))
            Expect.stringContains reasons "notes.txt" "summary.md names the bad files"
            let again = outcomes (Predict.run options Threading.CancellationToken.None ignore)
            for name in [ "a.png"; "a.jpg"; "stühl 2.png"; "grey.png" ] do
                Expect.equal again.[name] Predict.Skipped (sprintf "%s skipped on a rerun" name)
            File.Delete(Path.Combine(options.Out, "a_jpg.png"))
            let third = outcomes (Predict.run options Threading.CancellationToken.None ignore)
            Expect.isTrue (match third.["a.jpg"] with Predict.Done _ -> true | _ -> false) "an incomplete image is done again"
            Expect.equal third.["a.png"] Predict.Skipped "the complete ones are not"
            let blocked = { options with Out = Path.Combine(file "notes.txt", "out") }
            let e = Expect.catchT<Files.FileWriteError> (fun () -> Predict.run blocked Threading.CancellationToken.None ignore |> ignore) "unwritable output"
            Expect.stringContains e.Message (file "notes.txt") "names the folder"
        }

        test "a run interrupted between batches keeps the images done, and the rerun does only the rest" {
            use dir = new TempDir()
            let folder = savedModel dir.Path
            let inputs = Directory.CreateDirectory(dir.File "photos")
            for k in 0..3 do writeImage (Path.Combine(inputs.FullName, sprintf "p%d.png" k)) ImageFormat.Png (uint64 (10 + k))
            // A 16-bit RGB PNG as cameras and editors write them: decoded to floats like any other.
            let deep = [| for y in 0..31 do for x in 0..31 do yield! [ x * 2000; y * 2000; 65535 - x * 1000 ] |]
            File.WriteAllBytes(Path.Combine(inputs.FullName, "p4 deep.png"), pngOf 32 32 2uy 16 deep)
            let options = { Predict.Options.Defaults with Model = folder; Input = inputs.FullName; Out = dir.File "out"; BatchSize = 2 }
            // The plain progress line comes after the first batch: Ctrl+C pressed there.
            use stop = new Threading.CancellationTokenSource()
            let interrupted = Predict.run options stop.Token (fun line -> if line.StartsWith "predict: iteration" then stop.Cancel())
            let doneFirst = interrupted.Items |> List.choose (fun (input, o) -> match o with Predict.Done _ -> Some(Path.GetFileName input) | _ -> None)
            Expect.equal doneFirst [ "p0.png"; "p1.png" ] "the first batch, and no more"
            let written = Directory.GetFiles options.Out |> Array.map (fun f -> f, File.GetLastWriteTimeUtc f) |> Map.ofArray
            Expect.isFalse (written |> Map.exists (fun f _ -> f.Contains ".tmp")) "no temporary file left"
            let rerun = Predict.run options Threading.CancellationToken.None ignore
            let outcome name = rerun.Items |> List.find (fun (input, _) -> Path.GetFileName input = name) |> snd
            for name in doneFirst do Expect.equal (outcome name) Predict.Skipped (sprintf "%s skipped" name)
            for name in [ "p2.png"; "p3.png"; "p4 deep.png" ] do
                Expect.isTrue (match outcome name with Predict.Done _ -> true | _ -> false) (sprintf "%s reconstructed on the rerun: %A" name (outcome name))
            for f, time in Map.toSeq written do
                if not (f.EndsWith "summary.json" || f.EndsWith "summary.md") then
                    Expect.equal (File.GetLastWriteTimeUtc f) time (sprintf "%s left as it was" (Path.GetFileName f))
        }

        test "the demo renders unseen test shapes, reconstructs and scores them, and writes its report" {
            use dir = new TempDir()
            let folder = savedModel dir.Path
            let options = { Demo.Options.Defaults with Model = folder; Out = dir.File "demo"; Count = 20; Instances = 2 }
            let result = Demo.run options Threading.CancellationToken.None ignore
            Expect.equal result.Instances 2 "two test shapes"
            Expect.isTrue (Double.IsFinite result.ChamferL1 && result.ChamferL1 > 0.0) (sprintf "a Chamfer-L1 of the method: %g" result.ChamferL1)
            Expect.isTrue (Double.IsFinite result.TemplateChamferL1 && result.TemplateChamferL1 > 0.0) "and of the template"
            Expect.isTrue (File.Exists result.Report) "report.html"
            let page = File.ReadAllText result.Report
            Expect.stringContains page "Evaluation against the ground truth" "the scores are on the page"
            Expect.stringContains page "reference: template ellipsoid" "with the template row"
        }

        test "every shipped model loads with this version's configuration and predicts a mesh" {
            // The models were written by earlier versions: a field added to the configuration
            // since must not make them unreadable (the demo runs on unicorn-chair).
            let root = Path.Combine(repoRoot (), "models")
            let names = Directory.GetDirectories root |> Array.map Path.GetFileName |> Array.sort
            Expect.isNonEmpty names "models/ ships models"
            for name in names do
                use _ = DisposalScope.Open()
                use loaded = Predict.load name
                let p = Unicorn.predict loaded.Model (images 1 loaded.Model.Config.ImageSize 5UL)
                Expect.isTrue (p.Vertices.isfinite().all().ToScalar() > 0.0) (sprintf "%s: finite vertices" name)
                Expect.stringContains loaded.Description name "the description names it"
        }

        test "reconstruct predict: an unknown model is one line naming it, exit code 2" {
            let run = runCli [ "predict"; "--model"; "no-such-model"; "--input"; "." ]
            Expect.equal run.ExitCode 2 (sprintf "exit code (stderr: %s)" run.Stderr)
            Expect.stringContains run.Stderr "model no-such-model: no such file, folder or shipped model" "the message"
        }
    ]
