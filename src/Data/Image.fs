namespace Reconstruct.Data

open System
open System.IO
open Reconstruct.Torch
open Reconstruct.Geometry

/// An image file (or buffer) could not be read or written. `Message` is one line,
/// "file: what is wrong"; `Reason` is the part after the file.
type ImageFileException(file: string, reason: string) =
    inherit Exception(sprintf "%s: %s" file reason)
    member _.File = file
    member _.Reason = reason

/// What loading an RGB image does with an alpha channel.
[<RequireQualifiedAccess>]
type Alpha =
    /// Keep the colour channels as stored and drop alpha.
    | Ignore
    /// Composite over a background colour, RGB in [0, 1]: rgb·a + background·(1 − a).
    | Over of r: float * g: float * b: float

/// How `Image.resizeWith` samples.
[<RequireQualifiedAccess>]
type ResizeMode =
    /// Bilinear with pixel edges aligned (alignCorners = false, the project's convention).
    | Bilinear
    /// Mean over the source area each output pixel covers (adaptive average pooling): the
    /// filter for shrinking, it does not alias.
    | Area
    | Nearest
    /// Area when no side grows, bilinear otherwise.
    | Auto

/// A file format to write.
[<RequireQualifiedAccess>]
type ImageFormat =
    | Png
    /// Quality 1..100; alpha is dropped.
    | Jpeg of quality: int
    | Bmp
    | Tga

/// What the header of an image says.
type ImageInfo =
    { Width: int
      Height: int
      /// 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA.
      Channels: int
      /// 8, or 16 for 16-bit PNGs.
      Bits: int }

/// How images are read.
type ImageOptions =
    { Alpha: Alpha
      /// Images with more than this many pixels (width·height) are refused before decoding.
      MaxPixels: int64 }

    /// Alpha dropped; at most 8192 × 8192 pixels.
    static member Defaults = { Alpha = Alpha.Ignore; MaxPixels = 8192L * 8192L }

/// Reading and writing images (PNG 8/16-bit, JPEG, BMP, TGA through stb in the native library)
/// as the framework's image tensors: (C, H, W) float32 in [0, 1], row 0 at the top. Grey files
/// are expanded to RGB, 16-bit PNGs keep their precision (decoded to float directly), and
/// every failure is an `ImageFileException` naming the file.
[<RequireQualifiedAccess>]
module Image =

    let private shapeText (s: int[]) = Shape.text s

    /// 8192 × 8192: the default of `ImageOptions.MaxPixels`.
    let defaultMaxPixels = ImageOptions.Defaults.MaxPixels

    /// The native message is "rc_image_xxx: <source>: <reason>"; keep the reason.
    let private reasonOf (fn: string) (source: string) (message: string) =
        let full = fn + ": " + source + ": "
        if message.StartsWith(full, StringComparison.Ordinal) then message.Substring full.Length
        elif message.StartsWith(fn + ": ", StringComparison.Ordinal) then message.Substring(fn.Length + 2)
        else message

    let private checkOptions (fn: string) (options: ImageOptions) =
        if options.MaxPixels < 1L then
            invalidArg "options" (sprintf "%s: MaxPixels must be positive, received %d" fn options.MaxPixels)
        match options.Alpha with
        | Alpha.Over (r, g, b) when [ r; g; b ] |> List.exists (fun v -> not (v >= 0.0 && v <= 1.0)) ->
            invalidArg "options" (sprintf "%s: the Alpha.Over background must be RGB in [0, 1], received (%g, %g, %g)" fn r g b)
        | _ -> ()

    // ------------------------------------------------------------------ raw codec

    /// Decodes the file at `path` as stored: (H, W, C) with the file's channel count C in 1..4,
    /// uint8; 16-bit PNGs give float32 in [0, 1] when `keep16Bit`, else uint8 (rounded).
    let readRaw (maxPixels: int64) (keep16Bit: bool) (path: string) : Tensor =
        try Kernels.ImageCodec.read path maxPixels keep16Bit
        with NativeError message -> raise (ImageFileException(path, reasonOf "rc_image_read" path message))

    /// As `readRaw`, from encoded bytes; `name` stands for the source in messages.
    let decodeRaw (maxPixels: int64) (keep16Bit: bool) (name: string) (bytes: byte[]) : Tensor =
        try Kernels.ImageCodec.decode name bytes maxPixels keep16Bit
        with NativeError message -> raise (ImageFileException(name, reasonOf "rc_image_decode" name message))

    /// Size, channels and bit depth from the header of encoded bytes, without decoding pixels.
    let infoOfBytes (name: string) (bytes: byte[]) : ImageInfo =
        let w, h, c, bits =
            try Kernels.ImageCodec.info name bytes
            with NativeError message -> raise (ImageFileException(name, reasonOf "rc_image_info" name message))
        { Width = w; Height = h; Channels = c; Bits = bits }

    /// The header of the image file at `path`.
    let info (path: string) : ImageInfo =
        let bytes =
            try File.ReadAllBytes path
            with :? IOException | :? UnauthorizedAccessException as e -> raise (ImageFileException(path, "cannot open: " + e.Message))
        infoOfBytes path bytes

    // ------------------------------------------------------------------ channels

    /// (H, W, C) uint8 or float32 → (C, H, W) float32 in [0, 1].
    let private planar (hwc: Tensor) =
        Scoped.run (fun () ->
            let f = if hwc.Dtype = UInt8 then (hwc.cast Float32) / 255.0 else hwc
            (f.permute [ 2; 0; 1 ]).contiguous ())

    /// The colour (3, H, W) and alpha (1, H, W), if any, of a (C, H, W) image with C in 1..4.
    let private split (chw: Tensor) : Tensor * Tensor option =
        let c, h, w = chw.Size 0, chw.Size 1, chw.Size 2
        let grey (t: Tensor) = (t.expand [ 3; h; w ]).contiguous ()
        match c with
        | 1 -> grey chw, None
        | 2 -> grey (chw.narrow (0, 0, 1)), Some((chw.narrow (0, 1, 1)).contiguous ())
        | 3 -> chw.clone (), None
        | 4 -> (chw.narrow (0, 0, 3)).contiguous (), Some((chw.narrow (0, 3, 1)).contiguous ())
        | _ -> invalidArg "image" (sprintf "Image: expected 1 to 4 channels, received %s" (shapeText chw.Shape))

    let private rgbOf (options: ImageOptions) (raw: Tensor) =
        Scoped.run (fun () ->
            let rgb, alpha = split (planar raw)
            match alpha, options.Alpha with
            | Some a, Alpha.Over (r, g, b) ->
                let bg = Tensor.ofArray ([| float32 r; float32 g; float32 b |], [ 3; 1; 1 ])
                rgb * a + bg * (1.0 - a)
            | _ -> rgb)

    let private rgbaOf (raw: Tensor) =
        Scoped.run (fun () ->
            let rgb, alpha = split (planar raw)
            let a = match alpha with Some a -> a | None -> Tensor.ones ([ 1; rgb.Size 1; rgb.Size 2 ])
            Tensor.cat ([ rgb; a ], 0))

    // ------------------------------------------------------------------ reading

    /// The image at `path` as RGB: (3, H, W) float32 in [0, 1]; alpha handled by `options`.
    let loadWith (options: ImageOptions) (path: string) : Tensor =
        checkOptions "Image.loadWith" options
        use raw = readRaw options.MaxPixels true path
        rgbOf options raw

    /// The image at `path` as RGB: (3, H, W) float32 in [0, 1]; alpha dropped.
    let load (path: string) : Tensor = loadWith ImageOptions.Defaults path

    /// The image at `path` as RGBA: (4, H, W) float32 in [0, 1]; alpha 1 when the file has none.
    let loadRgba (path: string) : Tensor =
        use raw = readRaw ImageOptions.Defaults.MaxPixels true path
        rgbaOf raw

    /// As `loadWith`, from encoded bytes; `name` stands for the source in messages.
    let decodeWith (options: ImageOptions) (name: string) (bytes: byte[]) : Tensor =
        checkOptions "Image.decodeWith" options
        use raw = decodeRaw options.MaxPixels true name bytes
        rgbOf options raw

    /// Encoded bytes to (3, H, W) float32 RGB in [0, 1]; alpha dropped.
    let decode (name: string) (bytes: byte[]) : Tensor = decodeWith ImageOptions.Defaults name bytes

    /// Encoded bytes to (4, H, W) float32 RGBA in [0, 1].
    let decodeRgba (name: string) (bytes: byte[]) : Tensor =
        use raw = decodeRaw ImageOptions.Defaults.MaxPixels true name bytes
        rgbaOf raw

    // ------------------------------------------------------------------ writing

    /// (C, H, W) with C in 1..4 — float in [0, 1] (clamped, then rounded to 1/255) or uint8 —
    /// to the codec's (H, W, C) uint8.
    let toHwcUInt8 (fn: string) (image: Tensor) : Tensor =
        if image.Dim <> 3 || image.Size 0 < 1 || image.Size 0 > 4 || image.Size 1 < 1 || image.Size 2 < 1 then
            invalidArg "image" (sprintf "%s: image must be (C, H, W) with C in 1..4, received %s" fn (shapeText image.Shape))
        Scoped.run (fun () ->
            use _ = Autograd.noGrad ()
            let bytes =
                match image.Dtype with
                | UInt8 -> image
                | Float32
                | Float64 ->
                    if not ((image.isfinite ()).all().ToScalar() <> 0.0) then
                        invalidArg "image" (sprintf "%s: image %s has NaN or infinite values" fn (shapeText image.Shape))
                    ((image.clamp (0.0, 1.0) * 255.0).round ()).cast UInt8
                | d -> invalidArg "image" (sprintf "%s: image must be float32, float64 or uint8, received %s" fn (Dtype.name d))
            (bytes.permute [ 1; 2; 0 ]).contiguous ())

    let private formatCode (fn: string) =
        function
        | ImageFormat.Png -> 0, 0
        | ImageFormat.Jpeg q ->
            if q < 1 || q > 100 then invalidArg "format" (sprintf "%s: JPEG quality must be in 1..100, received %d" fn q)
            1, q
        | ImageFormat.Bmp -> 2, 0
        | ImageFormat.Tga -> 3, 0

    /// The format a file name asks for: .png, .jpg/.jpeg (quality 95), .bmp, .tga.
    let formatOfPath (path: string) =
        match Path.GetExtension(path).ToLowerInvariant() with
        | ".png" -> ImageFormat.Png
        | ".jpg"
        | ".jpeg" -> ImageFormat.Jpeg 95
        | ".bmp" -> ImageFormat.Bmp
        | ".tga" -> ImageFormat.Tga
        | ext ->
            invalidArg "path" (sprintf "Image.save: cannot tell a format from the extension '%s' of %s; use .png, .jpg, .jpeg, .bmp or .tga, or Image.saveAs" ext path)

    /// Encodes image: (C, H, W) float in [0, 1] (clamped) or uint8, C in 1..4, to file bytes.
    let encode (format: ImageFormat) (image: Tensor) : byte[] =
        let code, quality = formatCode "Image.encode" format
        use hwc = toHwcUInt8 "Image.encode" image
        Kernels.ImageCodec.encode hwc code quality

    /// PNG bytes of image: (C, H, W) float in [0, 1] or uint8 — the `encodePng` callback of
    /// `MeshIO.writeObjTextured`.
    let encodePng (image: Tensor) : byte[] = encode ImageFormat.Png image

    /// Writes image: (C, H, W) float in [0, 1] (clamped) or uint8, C in 1..4, as `format`.
    /// Encoded in memory first, then written by `Files.writeBytesAtomically` (a temporary file
    /// in the same directory, flushed, renamed over `path`), so the file appears complete or
    /// not at all, even if the process dies mid-write.
    let saveAs (format: ImageFormat) (path: string) (image: Tensor) =
        let code, quality = formatCode "Image.saveAs" format
        let bytes =
            use hwc = toHwcUInt8 "Image.saveAs" image
            if String.IsNullOrEmpty path then raise (ImageFileException(path, "path is empty"))
            try Kernels.ImageCodec.encode hwc code quality
            with NativeError message -> raise (ImageFileException(path, reasonOf "rc_image_encode" path message))
        try Files.writeBytesAtomically path bytes
        with Files.FileWriteError (_, problem) -> raise (ImageFileException(path, problem))

    /// Writes image: (C, H, W) float in [0, 1] or uint8 in the format its extension names.
    let save (path: string) (image: Tensor) = saveAs (formatOfPath path) path image

    // stb_image_write only writes 8-bit samples, so 16-bit grey PNGs (depth maps) are encoded here.
    let private crcTable =
        Array.init 256 (fun n ->
            let mutable c = uint32 n
            for _ in 1..8 do
                c <- if c &&& 1u <> 0u then 0xEDB88320u ^^^ (c >>> 1) else c >>> 1
            c)

    let private crc32 (bytes: byte[]) =
        let mutable c = 0xFFFFFFFFu
        for b in bytes do
            c <- crcTable.[int ((c ^^^ uint32 b) &&& 0xFFu)] ^^^ (c >>> 8)
        c ^^^ 0xFFFFFFFFu

    let private bigEndian (v: uint32) = [| byte (v >>> 24); byte (v >>> 16); byte (v >>> 8); byte v |]

    /// PNG bytes of a 16-bit greyscale image (no filter, zlib): `samples` row-major, H·W values.
    /// The same samples give the same bytes. Read back with `readRaw _ true` (value / 65535).
    let encodeGrey16 (height: int) (width: int) (samples: uint16[]) : byte[] =
        if height < 1 || width < 1 then invalidArg "height" (sprintf "Image.encodeGrey16: size must be positive, received %d x %d" height width)
        if samples.Length <> height * width then
            invalidArg "samples" (sprintf "Image.encodeGrey16: expected %d x %d = %d samples, received %d" height width (height * width) samples.Length)
        let raw = Array.zeroCreate<byte> (height * (1 + 2 * width))
        for i in 0 .. height - 1 do
            let row = i * (1 + 2 * width) // the leading 0 is filter type None
            for j in 0 .. width - 1 do
                let v = samples.[i * width + j]
                raw.[row + 1 + 2 * j] <- byte (v >>> 8)
                raw.[row + 2 + 2 * j] <- byte v
        let compressed =
            use buffer = new MemoryStream()
            (use z = new Compression.ZLibStream(buffer, Compression.CompressionLevel.Optimal, true)
             z.Write(raw, 0, raw.Length))
            buffer.ToArray()
        use png = new MemoryStream()
        png.Write([| 137uy; 80uy; 78uy; 71uy; 13uy; 10uy; 26uy; 10uy |], 0, 8)
        let chunk (kind: string) (data: byte[]) =
            let typed = Array.append (Text.Encoding.ASCII.GetBytes kind) data
            png.Write(bigEndian (uint32 data.Length), 0, 4)
            png.Write(typed, 0, typed.Length)
            png.Write(bigEndian (crc32 typed), 0, 4)
        // bit depth 16, colour type 0 (grey), deflate, adaptive filtering, no interlace
        chunk "IHDR" (Array.concat [ bigEndian (uint32 width); bigEndian (uint32 height); [| 16uy; 0uy; 0uy; 0uy; 0uy |] ])
        chunk "IDAT" compressed
        chunk "IEND" [||]
        png.ToArray()

    /// Writes `encodeGrey16 height width samples` to `path` atomically, as `saveAs`.
    let saveGrey16 (path: string) (height: int) (width: int) (samples: uint16[]) =
        let bytes = encodeGrey16 height width samples
        if String.IsNullOrEmpty path then raise (ImageFileException(path, "path is empty"))
        try Files.writeBytesAtomically path bytes
        with Files.FileWriteError (_, problem) -> raise (ImageFileException(path, problem))

    // ------------------------------------------------------------------ resampling and figures

    /// Resamples images: (C, H, W) or (B, C, H, W) float to (…, height, width), a new tensor.
    let resizeWith (mode: ResizeMode) (height: int, width: int) (images: Tensor) : Tensor =
        if images.Dim <> 3 && images.Dim <> 4 then
            invalidArg "images" (sprintf "Image.resize: images must be (C, H, W) or (B, C, H, W), received %s" (shapeText images.Shape))
        if height < 1 || width < 1 then
            invalidArg "size" (sprintf "Image.resize: target size must be positive, received %d x %d" height width)
        Scoped.run (fun () ->
            let x = if images.Dim = 3 then images.unsqueeze 0 else images
            let h, w = x.Size 2, x.Size 3
            let mode =
                match mode with
                | ResizeMode.Auto -> if height <= h && width <= w then ResizeMode.Area else ResizeMode.Bilinear
                | m -> m
            let y =
                if h = height && w = width then x.clone ()
                else
                    match mode with
                    | ResizeMode.Area -> Functional.adaptiveAvgPool2d (height, width) x
                    | ResizeMode.Nearest -> Functional.interpolate Interpolation.Nearest false (Resize.Size(height, width)) x
                    | _ -> Functional.interpolate Interpolation.Bilinear false (Resize.Size(height, width)) x
            if images.Dim = 3 then y.squeeze 0 else y)

    /// Resamples to (height, width): area averaging when shrinking, bilinear when growing.
    /// images: (C, H, W) or (B, C, H, W) float.
    let resize (height: int, width: int) (images: Tensor) = resizeWith ResizeMode.Auto (height, width) images

    /// The largest centred crop of image: (C, H, W) or (B, C, H, W) with the aspect ratio of
    /// (height, width), a new tensor (resize it afterwards).
    let centerCrop (height: int, width: int) (images: Tensor) : Tensor =
        if images.Dim <> 3 && images.Dim <> 4 then
            invalidArg "images" (sprintf "Image.centerCrop: images must be (C, H, W) or (B, C, H, W), received %s" (shapeText images.Shape))
        if height < 1 || width < 1 then
            invalidArg "size" (sprintf "Image.centerCrop: target size must be positive, received %d x %d" height width)
        let h, w = images.Size(-2), images.Size(-1)
        // Compare h/w with height/width exactly in integers.
        let ch, cw =
            if int64 h * int64 width > int64 w * int64 height then max 1 (int (int64 w * int64 height / int64 width)), w
            else h, max 1 (int (int64 h * int64 width / int64 height))
        Scoped.run (fun () -> ((images.narrow (-2, (h - ch) / 2, ch)).narrow (-1, (w - cw) / 2, cw)).contiguous ())

    /// RGB view of images: (B, C, H, W) with C = 1 (shown grey), 3, or 4 (alpha dropped);
    /// returns (B, 3, H, W), a new tensor.
    let toRgb (images: Tensor) : Tensor =
        if images.Dim <> 4 then
            invalidArg "images" (sprintf "Image.toRgb: images must be (B, C, H, W), received %s" (shapeText images.Shape))
        Scoped.run (fun () ->
            match images.Size 1 with
            | 1 -> (images.expand [ images.Size 0; 3; images.Size 2; images.Size 3 ]).contiguous ()
            | 3 -> images.clone ()
            | 4 -> (images.narrow (1, 0, 3)).contiguous ()
            | _ -> invalidArg "images" (sprintf "Image.toRgb: expected 1, 3 or 4 channels, received %s" (shapeText images.Shape)))

    /// Tiles images: (B, C, H, W) into one (C, rows·(H + padding) + padding,
    /// columns·(W + padding) + padding) image, row by row, `columns` per row (rows = ⌈B / columns⌉).
    /// Padding and empty cells take the value `background`.
    let grid (columns: int) (padding: int) (background: float) (images: Tensor) : Tensor =
        if images.Dim <> 4 || images.Size 0 < 1 then
            invalidArg "images" (sprintf "Image.grid: images must be (B, C, H, W) with B >= 1, received %s" (shapeText images.Shape))
        if columns < 1 then invalidArg "columns" (sprintf "Image.grid: columns must be positive, received %d" columns)
        if padding < 0 then invalidArg "padding" (sprintf "Image.grid: padding must be >= 0, received %d" padding)
        Scoped.run (fun () ->
            let b, c, h, w = images.Size 0, images.Size 1, images.Size 2, images.Size 3
            let rows = (b + columns - 1) / columns
            let cells = rows * columns
            let fill = PadMode.Constant background
            // Empty cells, then each cell's right and bottom padding, then one reshape lays them out.
            let full = if cells > b then Functional.pad fill [ 0; 0; 0; 0; 0; 0; 0; cells - b ] images else images
            let padded = Functional.pad fill [ 0; padding; 0; padding ] full
            let hp, wp = h + padding, w + padding
            let laid = ((padded.reshape [ rows; columns; c; hp; wp ]).permute [ 2; 0; 3; 1; 4 ]).reshape [ c; rows * hp; columns * wp ]
            Functional.pad fill [ padding; 0; padding; 0 ] laid)

    /// One figure from columns of images, one sample per row: row b shows columns.[0][b],
    /// columns.[1][b], … (e.g. input | reconstruction | novel views). Each column is
    /// (B, C, H, W) float with the same B and C in {1, 3, 4} (masks shown grey, alpha dropped);
    /// columns of another size are resized to the first one's (H, W). Returns (3, H', W') float32.
    let mosaic (padding: int) (background: float) (columns: Tensor list) : Tensor =
        match columns with
        | [] -> invalidArg "columns" "Image.mosaic: needs at least one column"
        | first :: _ ->
            if first.Dim <> 4 then
                invalidArg "columns" (sprintf "Image.mosaic: columns must be (B, C, H, W), received %s" (shapeText first.Shape))
            let b, h, w = first.Size 0, first.Size 2, first.Size 3
            columns
            |> List.iteri (fun k c ->
                if c.Dim <> 4 || c.Size 0 <> b then
                    invalidArg "columns" (sprintf "Image.mosaic: column %d must be (%d, C, H, W) like column 0, received %s" k b (shapeText c.Shape)))
            Scoped.run (fun () ->
                let cols =
                    columns
                    |> List.map (fun c ->
                        let rgb = toRgb (if c.Dtype = Float32 then c else c.cast Float32)
                        if rgb.Size 2 = h && rgb.Size 3 = w then rgb else resize (h, w) rgb)
                let interleaved = (Tensor.stack (cols, 1)).flatten (0, 1)
                grid columns.Length padding background interleaved)
