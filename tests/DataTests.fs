/// Image codecs and the batch loader. The oracles are independent of stb: PNGs built by hand
/// here (zlib through System.IO.Compression, CRC-32 computed below), constant-colour images
/// whose resized pixels are known, and loops over host arrays.
module Reconstruct.Tests.DataTests

open System
open System.IO
open System.IO.Compression
open System.Threading
open Expecto
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Tests.TestHelpers

// ---------------------------------------------------------------------- helpers

/// Host values; the dtype conversion's temporary is freed at once (tests count live tensors).
let private floats (t: Tensor) =
    use _ = DisposalScope.Open()
    t.ToFloat64s()

let private assertNear (what: string) (tol: float) (expected: float[]) (actual: float[]) =
    Expect.equal actual.Length expected.Length "actual.Length"
    Array.iteri2 (fun k e a -> if abs (e - a) > tol then failwithf "%s: value %d expected %.6f, actual %.6f" what k e a) expected actual

/// Raises the image error of `f` (failing when there is none) for checks on its text.
let private imageError (f: unit -> unit) =
    try
        f ()
        failwith "expected an ImageFileException, none was raised"
    with :? ImageFileException as e -> e

let private contains (what: string) (text: string) =
    if not (text.Contains what) then failwithf "expected the message to contain '%s', it reads: %s" what text

/// A (3, h, w) float32 image of one colour, values k/255.
let private solid (h: int) (w: int) (r: int, g: int, b: int) =
    use c = Tensor.ofArray ([| float32 r / 255.0f; float32 g / 255.0f; float32 b / 255.0f |], [ 3; 1; 1 ])
    (c.expand [ 3; h; w ]).contiguous ()

let private randomBytes (seed: int) (n: int) =
    let rng = Random seed
    Array.init n (fun _ -> byte (rng.Next 256))

// ---------------------------------------------------------------------- loader

/// n constant-colour PNGs of assorted sizes; colour k is (k*20, 255 - k*20, 7k) so a loaded
/// pixel tells which file it came from.
let private colourOf (k: int) = (k * 20 % 256, (255 - k * 20 % 256), 7 * k % 256)

let private writeSolids (dir: TempDir) (n: int) =
    [ for k in 0 .. n - 1 ->
          let path = dir.File(sprintf "img%02d.png" k)
          use img = solid (5 + k % 4) (6 + 2 * (k % 3)) (colourOf k)
          Image.save path img
          path ]

/// Which file each image of a batch shows, from its top-left red value.
let private identify (batch: Batch) =
    let v = floats batch.Images
    let per = 3 * batch.Images.Size 2 * batch.Images.Size 3
    Array.init (batch.Images.Size 0) (fun i -> v.[i * per])

let private options = { LoaderOptions.Defaults with Height = 8; Width = 8; BatchSize = 4; Seed = 7UL }

[<Tests>]
let tests =
    testList "Data" [
        // ---------------------------------------------------------------------- codecs

        test "png_encode_decode_round_trip_is_exact_for_uint8_of_every_channel_count" {
            use _ = DisposalScope.Open()
            for c in 1 .. 4 do
                let h, w = 7, 5
                let data = randomBytes c (h * w * c)
                use chw = (Tensor.ofArray (data, [ h; w; c ])).permute [ 2; 0; 1 ]
                let png = Image.encodePng chw
                Expect.equal png.[0..3] [| 0x89uy; 0x50uy; 0x4Euy; 0x47uy |] "png.[0..3]"
                use back = Image.decodeRaw Image.defaultMaxPixels false "round trip" png
                Expect.equal back.Shape [| h; w; c |] "back.Shape"
                Expect.equal back.Dtype UInt8 "back.Dtype"
                Expect.equal (back.ToArray<byte>()) data "back.ToArray<byte>()"
        }

        test "bmp_and_tga_round_trips_are_exact" {
            use _ = DisposalScope.Open()
            let data = randomBytes 11 (6 * 9 * 3)
            use chw = (Tensor.ofArray (data, [ 6; 9; 3 ])).permute [ 2; 0; 1 ]
            for format in [ ImageFormat.Bmp; ImageFormat.Tga ] do
                use back = Image.decodeRaw Image.defaultMaxPixels false (sprintf "%A" format) (Image.encode format chw)
                Expect.equal (back.ToArray<byte>()) data "back.ToArray<byte>()"
        }

        test "png_decoder_reads_hand_built_rgb_against_the_known_pixels" {
            use _ = DisposalScope.Open()
            let w, h = 4, 3
            let samples = Array.init (w * h * 3) (fun k -> (k * 37 + 5) % 256)
            use img = Image.decode "hand.png" (pngOf w h 2uy 8 samples)
            Expect.equal img.Shape [| 3; h; w |] "img.Shape"
            // (3, H, W) planar from interleaved (H, W, 3), row 0 at the top.
            let expected = Array.init (3 * h * w) (fun k -> let c, y, x = k / (h * w), (k / w) % h, k % w in float samples.[(y * w + x) * 3 + c] / 255.0)
            assertNear "rgb" 1e-6 expected (floats img)
        }

        test "jpeg_decode_of_an_encoded_image_is_close" {
            use _ = DisposalScope.Open()
            use dir = new TempDir()
            let h, w = 32, 48
            // Smooth content: JPEG keeps it within a few levels at quality 95.
            let v = Array.init (3 * h * w) (fun k -> let c, y, x = k / (h * w), (k / w) % h, k % w in float32 (0.2 + 0.6 * float (x + c * y) / float (w + 2 * h)))
            use image = Tensor.ofArray (v, [ 3; h; w ])
            let path = dir.File "smooth.jpg"
            Image.save path image
            let bytes = File.ReadAllBytes path
            Expect.equal bytes.[0..2] [| 0xFFuy; 0xD8uy; 0xFFuy |] "bytes.[0..2]"
            use back = Image.load path
            Expect.equal back.Shape [| 3; h; w |] "back.Shape"
            let diff = Array.map2 (fun (a: float32) b -> abs (float a - b)) v (floats back)
            if Array.average diff > 0.01 || Array.max diff > 0.06 then
                failwithf "jpeg error too large: mean %.4f max %.4f" (Array.average diff) (Array.max diff)
        }

        test "grey_png_is_expanded_to_rgb" {
            use _ = DisposalScope.Open()
            let samples = [| 0; 50; 128; 255; 7; 99 |]
            use img = Image.decode "grey.png" (pngOf 3 2 0uy 8 samples)
            let g = samples |> Array.map (fun s -> float s / 255.0)
            assertNear "grey to rgb" 1e-6 (Array.concat [ g; g; g ]) (floats img)
        }

        test "grey_alpha_png_is_split_composited_or_dropped" {
            use _ = DisposalScope.Open()
            // Pixels (grey, alpha).
            let pixels = [| 200, 255; 100, 0; 50, 128; 255, 64 |]
            let png = pngOf 2 2 4uy 8 (pixels |> Array.collect (fun (g, a) -> [| g; a |]))
            let g = pixels |> Array.map (fun (g, _) -> float g / 255.0)
            let a = pixels |> Array.map (fun (_, a) -> float a / 255.0)
            use rgba = Image.decodeRgba "ga.png" png
            assertNear "rgba" 1e-6 (Array.concat [ g; g; g; a ]) (floats rgba)
            use dropped = Image.decode "ga.png" png
            assertNear "alpha dropped" 1e-6 (Array.concat [ g; g; g ]) (floats dropped)
            let bg = [| 0.25; 0.5; 1.0 |]
            use over = Image.decodeWith { ImageOptions.Defaults with Alpha = Alpha.Over(bg.[0], bg.[1], bg.[2]) } "ga.png" png
            let expected = [| for c in 0 .. 2 do for k in 0 .. 3 -> g.[k] * a.[k] + bg.[c] * (1.0 - a.[k]) |]
            assertNear "composited" 1e-6 expected (floats over)
        }

        test "rgba_png_gives_alpha_and_rgb_files_get_alpha_one" {
            use _ = DisposalScope.Open()
            let samples = [| 10; 20; 30; 40; 250; 240; 230; 220 |]
            use rgba = Image.decodeRgba "rgba.png" (pngOf 2 1 6uy 8 samples)
            let s k = float samples.[k] / 255.0
            assertNear "rgba" 1e-6 [| s 0; s 4; s 1; s 5; s 2; s 6; s 3; s 7 |] (floats rgba)
            use opaque = Image.decodeRgba "rgb.png" (pngOf 2 1 2uy 8 [| 1; 2; 3; 4; 5; 6 |])
            assertNear "alpha one" 0.0 [| 1.0; 1.0 |] (floats (opaque.narrow (0, 3, 1)))
        }

        test "sixteen_bit_png_keeps_its_precision_or_rounds_to_8_bit" {
            use _ = DisposalScope.Open()
            // Values 8-bit cannot tell apart (257 k + small offsets) and the extremes.
            let samples = [| 0; 1; 257; 258; 32768; 65534; 65535; 1000; 40000; 12345; 54321; 2 |]
            let png = pngOf 2 2 2uy 16 samples
            Expect.equal (Image.infoOfBytes "deep.png" png) ({ Width = 2; Height = 2; Channels = 3; Bits = 16 }: ImageInfo) "Image.infoOfBytes \"deep.png\" png"
            use raw = Image.decodeRaw Image.defaultMaxPixels true "deep.png" png
            Expect.equal raw.Dtype Float32 "raw.Dtype"
            assertNear "16-bit as float" 1e-7 (samples |> Array.map (fun v -> float v / 65535.0)) (floats raw)
            use img = Image.decode "deep.png" png
            let planar = [| for c in 0 .. 2 do for p in 0 .. 3 -> float samples.[p * 3 + c] / 65535.0 |]
            assertNear "16-bit rgb" 1e-7 planar (floats img)
            use bytes = Image.decodeRaw Image.defaultMaxPixels false "deep.png" png
            Expect.equal bytes.Dtype UInt8 "bytes.Dtype"
            let rounded = samples |> Array.map (fun v -> byte (Math.Round(float v * 255.0 / 65535.0)))
            Expect.equal (bytes.ToArray<byte>()) rounded "bytes.ToArray<byte>()"
        }

        test "sixteen_bit_grey_alpha_png_is_converted" {
            use _ = DisposalScope.Open()
            let png = pngOf 1 2 4uy 16 [| 65535; 32768; 0; 65535 |]
            use rgba = Image.decodeRgba "ga16.png" png
            let g0, a0 = 1.0, 32768.0 / 65535.0
            assertNear "ga16" 1e-7 [| g0; 0.0; g0; 0.0; g0; 0.0; a0; 1.0 |] (floats rgba)
        }

        test "save_clamps_rounds_and_leaves_no_temporary_file" {
            use _ = DisposalScope.Open()
            use dir = new TempDir()
            let v = [| -0.5f; 0.0f; 100.4f / 255.0f; 100.6f / 255.0f; 1.0f; 1.7f |]
            use image = Tensor.ofArray (v, [ 1; 2; 3 ])
            let path = dir.File "clamped.png"
            File.WriteAllText(path, "an older file to replace")
            Image.save path image
            use back = Image.readRaw Image.defaultMaxPixels false path
            Expect.equal (back.ToArray<byte>()) [| 0uy; 0uy; 100uy; 101uy; 255uy; 255uy |] "back.ToArray<byte>()"
            Expect.equal (Directory.GetFiles dir.Path) [| path |] "Directory.GetFiles dir.Path"
            let e = Expect.catchT<ArgumentException> (fun () -> Image.save (dir.File "x.gif") image) "Image.save (dir.File \"x.gif\") image"
            contains ".gif" e.Message
            use nan = Tensor.ofArray ([| nanf; 0.0f; 0.0f |], [ 3; 1; 1 ])
            contains "NaN" (Expect.catchT<ArgumentException> (fun () -> Image.save (dir.File "n.png") nan) "Image.save (dir.File \"n.png\") nan").Message
            let missingDir = Path.Combine(dir.Path, "no-such-dir", "a.png")
            let err = imageError (fun () -> Image.save missingDir image)
            Expect.equal err.File missingDir "err.File"
        }

        test "encodePng_serves_meshio_writeObjTextured" {
            use _ = DisposalScope.Open()
            use dir = new TempDir()
            let mesh = Template.ellipsoid 1 (1.0, 1.0, 1.0)
            use texture = solid 4 8 (10, 200, 30)
            MeshIO.writeObjTextured (dir.File "m.obj") Image.encodePng texture mesh
            use back = Image.load (dir.File "m.png")
            assertNear "texture" 1e-6 (floats texture) (floats back)
        }

        // ---------------------------------------------------------------------- bad files

        test "bad_files_raise_one_line_errors_naming_the_file" {
            use _ = DisposalScope.Open()
            use dir = new TempDir()
            use image = solid 16 16 (1, 2, 3)
            let png = Image.encodePng image
            let jpeg = Image.encode (ImageFormat.Jpeg 90) image
            // stb_image loads these two cut short without complaint; the native check must catch them.
            let bmp = Image.encode ImageFormat.Bmp image
            let tga = Image.encode ImageFormat.Tga image
            let write name (bytes: byte[]) =
                let p = dir.File name
                File.WriteAllBytes(p, bytes)
                p
            let cases =
                [ write "empty.png" [||], "empty"
                  write "truncated.png" png.[.. png.Length / 2], "PNG"
                  write "truncated.jpg" jpeg.[.. jpeg.Length / 2], "truncated JPEG"
                  write "truncated.bmp" bmp.[.. bmp.Length - 10], "truncated BMP"
                  write "truncated.tga" tga.[.. tga.Length - 5], "truncated TGA"
                  // The first byte of the zlib stream (after signature 8, IHDR 25, IDAT length+type 8).
                  write "corrupt.png" (Array.mapi (fun k b -> if k = 41 then 0xFFuy else b) png), "corrupt"
                  write "huge.png" (pngHeader 10000 10000), "10000 x 10000"
                  write "notes.png" (Text.Encoding.ASCII.GetBytes "hello, not an image"), "not a PNG, JPEG, BMP or TGA"
                  dir.File "missing.png", "cannot open" ]
            for path, expected in cases do
                let e = imageError (fun () -> (Image.load path :> IDisposable).Dispose())
                Expect.equal e.File path "e.File"
                contains path e.Message
                contains expected e.Reason
                Expect.stringDoesNotContain e.Message "\n" "e.Message"
            // The limit is configurable and names the size.
            let small = write "small.png" png
            let e = imageError (fun () -> (Image.loadWith { ImageOptions.Defaults with MaxPixels = 255L } small :> IDisposable).Dispose())
            contains "16 x 16 = 256 pixels, above the limit of 255" e.Reason
            use fine = Image.loadWith { ImageOptions.Defaults with MaxPixels = 256L } small
            Expect.equal fine.Shape [| 3; 16; 16 |] "fine.Shape"
        }

        test "encoder_rejects_bad_tensors_with_named_errors" {
            use _ = DisposalScope.Open()
            use five = Tensor.zeros [ 5; 2; 2 ]
            contains "C in 1..4" (Expect.catchT<ArgumentException> (fun () -> Image.encodePng five |> ignore) "Image.encodePng five").Message
            use flat = Tensor.zeros [ 4; 4 ]
            contains "[4, 4]" (Expect.catchT<ArgumentException> (fun () -> Image.encodePng flat |> ignore) "Image.encodePng flat").Message
            use ok = Tensor.zeros [ 3; 2; 2 ]
            contains "quality" (Expect.catchT<ArgumentException> (fun () -> Image.encode (ImageFormat.Jpeg 0) ok |> ignore) "Image.encode (ImageFormat.Jpeg 0) ok").Message
        }

        // ---------------------------------------------------------------------- resampling and figures

        test "resize_area_averages_blocks_and_bilinear_keeps_constants" {
            use _ = DisposalScope.Open()
            let v = Array.init 16 float32
            use x = Tensor.ofArray (v, [ 1; 4; 4 ])
            use small = Image.resize (2, 2) x
            let block i j = [ for y in 2 * i .. 2 * i + 1 do for x in 2 * j .. 2 * j + 1 -> float v.[y * 4 + x] ] |> List.average
            assertNear "area" 1e-6 [| block 0 0; block 0 1; block 1 0; block 1 1 |] (floats small)
            use c = solid 3 5 (40, 80, 120)
            use big = Image.resize (7, 11) c
            Expect.equal big.Shape [| 3; 7; 11 |] "big.Shape"
            assertNear "constant" 1e-6 (Array.concat [ Array.create 77 (40.0 / 255.0); Array.create 77 (80.0 / 255.0); Array.create 77 (120.0 / 255.0) ]) (floats big)
        }

        test "center_crop_keeps_the_middle_at_the_target_aspect" {
            use _ = DisposalScope.Open()
            use x = Tensor.ofArray (Array.init 32 float32, [ 1; 4; 8 ])
            use square = Image.centerCrop (10, 10) x
            Expect.equal square.Shape [| 1; 4; 4 |] "square.Shape"
            assertNear "crop" 0.0 [| for y in 0 .. 3 do for x in 2 .. 5 -> float (y * 8 + x) |] (floats square)
        }

        test "grid_places_each_image_in_its_cell_with_padding" {
            use _ = DisposalScope.Open()
            let b, c, h, w, cols, pad, bg = 3, 2, 2, 3, 2, 1, 0.5
            let v = Array.init (b * c * h * w) (fun k -> float32 k / 100.0f)
            use images = Tensor.ofArray (v, [ b; c; h; w ])
            use g = Image.grid cols pad bg images
            let rows = 2
            let gh, gw = rows * (h + pad) + pad, cols * (w + pad) + pad
            Expect.equal g.Shape [| c; gh; gw |] "g.Shape"
            let expected =
                [| for ch in 0 .. c - 1 do
                       for y in 0 .. gh - 1 do
                           for x in 0 .. gw - 1 ->
                               let r, yi = (y - pad) / (h + pad), (y - pad) % (h + pad)
                               let q, xi = (x - pad) / (w + pad), (x - pad) % (w + pad)
                               let k = r * cols + q
                               if y < pad || x < pad || yi >= h || xi >= w || k >= b then bg
                               else float v.[((k * c + ch) * h + yi) * w + xi] |]
            assertNear "grid" 1e-6 expected (floats g)
        }

        test "mosaic_puts_one_sample_per_row_and_masks_in_grey" {
            use _ = DisposalScope.Open()
            use inputs = Tensor.stack ([ solid 4 4 (255, 0, 0); solid 4 4 (0, 255, 0) ], 0)
            // Masks at another size: resized to 4 x 4 and shown grey.
            use masks = Tensor.ofArray ([| 0.25f; 0.25f; 0.25f; 0.25f; 0.75f; 0.75f; 0.75f; 0.75f |], [ 2; 1; 2; 2 ])
            use m = Image.mosaic 1 0.0 [ inputs; masks ]
            Expect.equal m.Shape [| 3; 11; 11 |] "m.Shape"
            let at (ch: int) (y: int) (x: int) = (floats (m.narrow(0, ch, 1).narrow(1, y, 1).narrow(2, x, 1))).[0]
            // Row 1 (sample 1): input green at column 0, mask 0.75 grey at column 1.
            assertNear "sample 1 input" 1e-6 [| 0.0; 1.0; 0.0 |] [| at 0 7 2; at 1 7 2; at 2 7 2 |]
            assertNear "sample 1 mask" 1e-6 [| 0.75; 0.75; 0.75 |] [| at 0 7 7; at 1 7 7; at 2 7 7 |]
            assertNear "sample 0 mask" 1e-6 [| 0.25; 0.25; 0.25 |] [| at 0 2 7; at 1 2 7; at 2 2 7 |]
            assertNear "padding" 0.0 [| 0.0 |] [| at 0 5 5 |]
        }

        test "loader_batches_have_the_fixed_size_and_right_content" {
            use _ = DisposalScope.Open()
            use dir = new TempDir()
            writeSolids dir 10 |> ignore
            let loader = Loader.create { options with Shuffle = false } (Loader.ofFolder dir.Path)
            let batches = Loader.epoch 0 loader |> List.ofSeq
            Expect.equal (batches |> List.map (fun b -> b.Images.Size 0)) [ 4; 4; 2 ] "batches |> List.map (fun b -> b.Images.Size 0)"
            for b in batches do
                Expect.equal b.Images.Shape [| b.Images.Size 0; 3; 8; 8 |] "b.Images.Shape"
                Expect.equal b.Images.Dtype Float32 "b.Images.Dtype"
                // Every image is its file's colour at every pixel (area/bilinear keep constants).
                for i in 0 .. b.Images.Size 0 - 1 do
                    let r, g, bl = colourOf b.Positions.[i]
                    let expected = Array.concat [ Array.create 64 (float r / 255.0); Array.create 64 (float g / 255.0); Array.create 64 (float bl / 255.0) ]
                    assertNear (sprintf "batch %d image %d" b.Index i) 1e-6 expected (floats (b.Images.select (0, i)))
                    Expect.equal (Path.GetFileName b.Items.[i].Path) (sprintf "img%02d.png" b.Positions.[i]) "Path.GetFileName b.Items.[i].Path"
            Expect.equal (batches |> List.collect (fun b -> List.ofArray b.Positions)) [ 0 .. 9 ] "batches |> List.collect (fun b -> List.ofArray b.Positions)"
            let dropLast = Loader.create { options with DropLast = true } (Loader.ofFolder dir.Path)
            Expect.equal (Loader.epoch 0 dropLast |> Seq.map (fun b -> b.Images.Size 0) |> List.ofSeq) [ 4; 4 ] "Loader.epoch 0 dropLast |> Seq.map (fun b -> b.Images.Size 0) |> List..."
            Expect.isEmpty loader.Failures "loader.Failures"
        }

        test "loader_shuffle_is_deterministic_and_covers_every_item_once_per_epoch" {
            use _ = DisposalScope.Open()
            use dir = new TempDir()
            writeSolids dir 11 |> ignore
            let items = Loader.ofFolder dir.Path
            let a, b = Loader.create options items, Loader.create options items
            let positions loader e = Loader.epoch e loader |> Seq.collect (fun (x: Batch) -> x.Positions) |> List.ofSeq
            for e in 0 .. 2 do
                let pa = positions a e
                Expect.equal (positions b e) pa "positions b e"
                Expect.equal (List.sort pa) [ 0 .. 10 ] "List.sort pa"
            Expect.notEqual (positions a 1) (positions a 0) "positions a 1"
            Expect.notEqual (positions a 0) [ 0 .. 10 ] "positions a 0"
            let other = Loader.create { options with Seed = 8UL } items
            Expect.notEqual (positions other 0) (positions a 0) "positions other 0"
            // Same seed, same pixels, not only the same order.
            let pixels loader = Loader.epoch 1 loader |> Seq.collect identify |> List.ofSeq
            Expect.equal (pixels b) (pixels a) "pixels b"
            // Epoch 2 alone (as after a resume) replays the order of a loader that ran epochs 0 and 1.
            Expect.equal (Loader.order 2 (Loader.create options items)) (Loader.order 2 a) "Loader.order 2 (Loader.create options items)"
        }

        test "loader_reports_bad_files_by_name_and_the_batch_goes_on" {
            use _ = DisposalScope.Open()
            use dir = new TempDir()
            let good = writeSolids dir 6
            use sample = solid 8 8 (9, 9, 9)
            let png = Image.encodePng sample
            let jpeg = Image.encode (ImageFormat.Jpeg 90) sample
            let bad =
                [ "b_empty.png", [||]
                  "b_truncated.png", png.[.. png.Length - 20]
                  "b_truncated.jpg", jpeg.[.. jpeg.Length / 3]
                  "b_corrupt.png", Array.mapi (fun k b -> if k = 41 then 0xFFuy else b) png
                  "b_huge.png", pngHeader 9000 9000 ]
            for name, bytes in bad do File.WriteAllBytes(dir.File name, bytes)
            // Convertible files count as good: grey, grey + alpha, 16-bit.
            File.WriteAllBytes(dir.File "c_grey.png", pngOf 3 3 0uy 8 (Array.create 9 128))
            File.WriteAllBytes(dir.File "c_alpha.png", pngOf 3 3 4uy 8 (Array.init 18 (fun k -> if k % 2 = 0 then 64 else 255)))
            File.WriteAllBytes(dir.File "c_deep.png", pngOf 3 3 2uy 16 (Array.create 27 30000))
            let items = Array.append (Loader.ofFolder dir.Path) (Loader.ofFiles [ dir.File "gone.png" ])
            let loader = Loader.create options items
            let loaded = Loader.epoch 0 loader |> Seq.collect (fun b -> b.Items |> Seq.map (fun i -> Path.GetFileName i.Path)) |> List.ofSeq
            let expectedGood = (good |> List.map Path.GetFileName) @ [ "c_alpha.png"; "c_deep.png"; "c_grey.png" ]
            Expect.equal (List.sort loaded) (List.sort expectedGood) "List.sort loaded"
            let failures = loader.Failures
            Expect.equal (failures |> Array.map (fun f -> Path.GetFileName f.File) |> Array.sort |> List.ofArray) (List.sort ("gone.png" :: (bad |> List.map fst))) "failures |> Array.map (fun f -> Path.GetFileName f.File) |> Array.sor..."
            let reason name = (failures |> Array.find (fun f -> Path.GetFileName f.File = name)).Reason
            contains "empty" (reason "b_empty.png")
            contains "truncated JPEG" (reason "b_truncated.jpg")
            contains "9000 x 9000" (reason "b_huge.png")
            contains "cannot open" (reason "gone.png")
            // A second epoch does not report them again.
            Loader.epoch 1 loader |> Seq.iter (fun b -> (b :> IDisposable).Dispose())
            Expect.equal loader.Failures.Length failures.Length "loader.Failures.Length"
        }

        testSequenced <| test "prefetch_yields_the_synchronous_batches_and_leaks_nothing" {
            use dir = new TempDir()
            writeSolids dir 9 |> ignore
            let loader = Loader.create options (Loader.ofFolder dir.Path)
            let snapshot (b: Batch) = b.Index, List.ofArray b.Positions, List.ofArray (floats b.Images)
            let sync =
                [ for b in Loader.epoch 3 loader do
                      use b = b
                      yield snapshot b ]
            let before = settledLiveCount ()
            let threads = Collections.Generic.HashSet<int>()
            let pre =
                [ for b in Loader.prefetch 2 (seq { threads.Add Thread.CurrentThread.ManagedThreadId |> ignore; yield! Loader.epoch 3 loader }) do
                      use b = b
                      yield snapshot b ]
            Expect.equal pre.Length sync.Length "pre.Length"
            List.iter2 (fun (a: int * int list * float list) b -> Expect.equal b a "b") sync pre
            Expect.doesNotContain threads Thread.CurrentThread.ManagedThreadId "threads"
            Expect.equal Tensor.LiveCount before "Tensor.LiveCount"
            // Stopping after one batch frees what the worker had prepared.
            for b in Loader.prefetch 3 (Loader.epoch 4 loader) |> Seq.truncate 1 do
                (b :> IDisposable).Dispose()
            Expect.equal Tensor.LiveCount before "Tensor.LiveCount"
            // Batches go to the scope current on the consuming thread, as without prefetching.
            do
                use scope = DisposalScope.Open()
                let n = Loader.prefetch 2 (Loader.epoch 5 loader) |> Seq.map (fun b -> b.Images.Size 0) |> Seq.sum
                Expect.equal n 9 "n"
                Expect.isTrue (Tensor.LiveCount > before) "Tensor.LiveCount > before"
            Expect.equal Tensor.LiveCount before "Tensor.LiveCount"
        }

        testSequenced <| test "prefetch_raises_the_workers_exception_in_the_consumer" {
            let before = settledLiveCount ()
            let failing =
                seq {
                    yield { Images = Tensor.zeros [ 1; 3; 2; 2 ]; Items = [||]; Positions = [||]; Epoch = 0; Index = 0 }
                    failwith "boom on the worker"
                }
            let e = Expect.catchAnyT<exn> (fun () -> Loader.prefetch 1 failing |> Seq.iter (fun b -> (b :> IDisposable).Dispose())) "Loader.prefetch 1 failing |> Seq.iter (fun b -> (b :> IDisposable).Di..."
            contains "boom on the worker" e.Message
            Expect.equal Tensor.LiveCount before "Tensor.LiveCount"
        }

        test "index_rows_ride_along_and_resolve_relative_paths" {
            use _ = DisposalScope.Open()
            use dir = new TempDir()
            let files = writeSolids dir 3
            let index = dir.File "index.jsonl"
            File.WriteAllLines(
                index,
                [ """{"image": "img00.png", "azimuth": 30.5}"""
                  ""
                  sprintf """{"image": %s, "azimuth": -10}""" (Text.Json.JsonSerializer.Serialize files.[2]) ])
            let items = Loader.ofIndex index
            Expect.equal items.Length 2 "items.Length"
            Expect.equal (Path.GetFullPath items.[0].Path) (Path.GetFullPath files.[0]) "Path.GetFullPath items.[0].Path"
            Expect.equal items.[1].Path files.[2] "items.[1].Path"
            Expect.equal (items |> Array.map (fun i -> i.Row.Value.Line) |> List.ofArray) [ 1; 3 ] "items |> Array.map (fun i -> i.Row.Value.Line) |> List.ofArray"
            Expect.equal (items.[0].Row.Value.Json.GetProperty("azimuth").GetDouble()) 30.5 "items.[0].Row.Value.Json.GetProperty(\"azimuth\").GetDouble()"
            let batch = Loader.epoch 0 (Loader.create { options with Shuffle = false } items) |> Seq.exactlyOne
            Expect.equal (batch.Items.[1].Row.Value.Json.GetProperty("azimuth").GetDouble()) (-10.0) "batch.Items.[1].Row.Value.Json.GetProperty(\"azimuth\").GetDouble()"
        }

        test "malformed_index_names_the_file_and_line" {
            use dir = new TempDir()
            let write (lines: string list) =
                let p = dir.File(Guid.NewGuid().ToString("N") + ".jsonl")
                File.WriteAllLines(p, lines)
                p
            let check (path: string) (line: int) (what: string) =
                let e = Expect.catchT<IndexFileException> (fun () -> Loader.ofIndex path |> ignore) "Loader.ofIndex path"
                Expect.equal e.File path "e.File"
                Expect.equal e.Line line "e.Line"
                contains (if line > 0 then sprintf "%s:%d:" path line else path) e.Message
                contains what e.Message
            check (write [ """{"image": "a.png"}"""; """{"image": "b.png"}"""; """{"image": "c.png", """ ]) 3 "not valid JSON"
            check (write [ """{"image": "a.png"}"""; """{"file": "b.png"}""" ]) 2 "missing field \"image\""
            check (write [ """{"image": 5}""" ]) 1 "non-empty string"
            check (write [ """["a.png"]""" ]) 1 "JSON object"
            check (write [ ""; "  " ]) 0 "no rows"
            check (dir.File "absent.jsonl") 0 "not found"
        }
    ]
