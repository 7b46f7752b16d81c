namespace Reconstruct.Train

open System
open Reconstruct.Torch
open Reconstruct.Data

module Curves =
    [<Literal>]
    let FileName = "curves.png"

    /// 3×5 glyphs, rows top to bottom, "1" = ink.
    let private glyphs =
        dict [
            '0', "111101101101111"; '1', "010110010010111"; '2', "111001111100111"; '3', "111001111001111"
            '4', "101101111001001"; '5', "111100111001111"; '6', "111100111101111"; '7', "111001001010010"
            '8', "111101111101111"; '9', "111101111001111"; 'a', "010101111101101"; 'b', "110101110101110"
            'c', "011100100100011"; 'd', "110101101101110"; 'e', "111100110100111"; 'f', "111100110100100"
            'g', "011100101101011"; 'h', "101101111101101"; 'i', "111010010010111"; 'j', "001001001101010"
            'k', "101101110101101"; 'l', "100100100100111"; 'm', "101111111101101"; 'n', "110101101101101"
            'o', "010101101101010"; 'p', "110101110100100"; 'q', "010101101110011"; 'r', "110101110101101"
            's', "011100010001110"; 't', "111010010010010"; 'u', "101101101101111"; 'v', "101101101101010"
            'w', "101101111111101"; 'x', "101101010101101"; 'y', "101101010010010"; 'z', "111001010100111"
            '.', "000000000000010"; '_', "000000000000111"; '-', "000000111000000"; '+', "000010111010000"
            '/', "001001010100100"; ':', "000010000010000"; ' ', "000000000000000"; '(', "010100100100010"
            ')', "010001001001010"; '?', "111001010000010" ]

    type private Canvas(width: int, height: int) =
        let pixels = Array.create (3 * width * height) 255uy
        member _.Width = width
        member _.Height = height
        member _.Pixels = pixels

        member _.Set(x: int, y: int, (r: byte, g: byte, b: byte)) =
            if x >= 0 && x < width && y >= 0 && y < height then
                let k = y * width + x
                pixels.[k] <- r
                pixels.[width * height + k] <- g
                pixels.[2 * width * height + k] <- b

        member c.Rect(x0, y0, x1, y1, colour) =
            for y in min y0 y1 .. max y0 y1 do
                for x in min x0 x1 .. max x0 x1 do
                    c.Set(x, y, colour)

        member c.Line(x0: int, y0: int, x1: int, y1: int, colour) =
            let steps = max (abs (x1 - x0)) (abs (y1 - y0))
            for s in 0..steps do
                let t = if steps = 0 then 0.0 else float s / float steps
                let x = int (Math.Round(float x0 + t * float (x1 - x0)))
                let y = int (Math.Round(float y0 + t * float (y1 - y0)))
                c.Set(x, y, colour)
                c.Set(x, y + 1, colour)

        /// Text at scale 2 (6×10 px per glyph, 8 px advance), top-left at (x, y).
        member c.Text(x: int, y: int, text: string, colour) =
            text.ToLowerInvariant()
            |> Seq.iteri (fun k ch ->
                let glyph =
                    match glyphs.TryGetValue ch with
                    | true, g -> g
                    | _ -> glyphs.['?']
                for row in 0..4 do
                    for col in 0..2 do
                        if glyph.[row * 3 + col] = '1' then
                            c.Rect(x + 8 * k + 2 * col, y + 2 * row, x + 8 * k + 2 * col + 1, y + 2 * row + 1, colour))

    let private ink = (40uy, 40uy, 40uy)
    let private frame = (170uy, 170uy, 170uy)
    let private band = (215uy, 215uy, 225uy)
    let private trainColour = (31uy, 119uy, 180uy)
    let private validationColour = (230uy, 110uy, 20uy)

    let private number (v: float) = v.ToString("G3", Globalization.CultureInfo.InvariantCulture)

    /// One series: (iteration, value) in iteration order, finite values only.
    type private Series = { Name: string; Points: (float * float)[]; Validation: bool }

    let private series (lines: MetricsLine list) =
        let order = Collections.Generic.List<string * bool>()
        let points = Collections.Generic.Dictionary<string * bool, Collections.Generic.List<float * float>>()
        let add key (x: float) (v: float) =
            if not (points.ContainsKey key) then
                order.Add key
                points.[key] <- Collections.Generic.List()
            if Double.IsFinite v then points.[key].Add((x, v))
        for line in lines do
            match line with
            | Step s -> for name, v in s.Losses do add (name, false) (float s.Iteration) v
            | Validation (iteration, values) -> for name, v in values do add (name, true) (float iteration) v
        [ for (name, validation) as key in order ->
              { Name = name; Points = points.[key].ToArray() |> Array.sortBy fst; Validation = validation } ]

    let private panelWidth, panelHeight, columns = 560, 220, 2

    let private drawPanel (c: Canvas) (left: int) (top: int) (s: Series) =
        let plotLeft, plotTop = left + 12, top + 30
        let plotRight, plotBottom = left + panelWidth - 12, top + panelHeight - 26
        c.Text(left + 12, top + 8, s.Name + (if s.Validation then " (validation)" else ""), ink)
        c.Line(plotLeft, plotBottom, plotRight, plotBottom, frame)
        c.Line(plotLeft, plotTop, plotLeft, plotBottom, frame)
        if s.Points.Length > 0 then
            let values = s.Points |> Array.map snd
            let lo, hi = Array.min values, Array.max values
            let logScale = lo > 0.0 && hi / lo > 20.0
            let f v = if logScale then log10 v else v
            let flo, fhi = f lo, f hi
            let span = if fhi > flo then fhi - flo else 1.0
            let x0, x1 = fst s.Points.[0], fst s.Points.[s.Points.Length - 1]
            let xspan = if x1 > x0 then x1 - x0 else 1.0
            let width = plotRight - plotLeft - 2
            let px (x: float) = plotLeft + 1 + int (Math.Round((x - x0) / xspan * float width))
            let py (v: float) = plotBottom - 2 - int (Math.Round((f v - flo) / span * float (plotBottom - plotTop - 4)))
            if s.Validation then
                let mutable previous = None
                for x, v in s.Points do
                    let p = px x, py v
                    previous |> Option.iter (fun (a, b) -> c.Line(a, b, fst p, snd p, validationColour))
                    c.Rect(fst p - 2, snd p - 2, fst p + 2, snd p + 2, validationColour)
                    previous <- Some p
            else
                // Per pixel column: the band of values and their mean, so a million steps
                // draw as fast as a thousand.
                let columnsOf = s.Points |> Array.groupBy (fun (x, _) -> px x)
                let means =
                    [| for column, points in columnsOf ->
                           let vs = points |> Array.map snd
                           c.Line(column, py (Array.min vs), column, py (Array.max vs), band)
                           column, py (if logScale then 10.0 ** (vs |> Array.averageBy log10) else Array.average vs) |]
                for (a, b), (a2, b2) in Array.pairwise means do
                    c.Line(a, b, a2, b2, trainColour)
                if means.Length = 1 then c.Rect(fst means.[0] - 1, snd means.[0] - 1, fst means.[0] + 1, snd means.[0] + 1, trainColour)
            let scale = if logScale then " log" else ""
            c.Text(plotRight - 8 * 22, top + 8, sprintf "%s..%s%s" (number lo) (number hi) scale, ink)
            c.Text(plotLeft, plotBottom + 8, sprintf "it %g..%g  last %s" x0 x1 (number values.[values.Length - 1]), ink)

    let render (lines: MetricsLine list) : Tensor =
        let all = series lines
        let panels = if all.IsEmpty then [ { Name = "no metrics yet"; Points = [||]; Validation = false } ] else all
        let rows = (panels.Length + columns - 1) / columns
        let canvas = Canvas(columns * panelWidth, rows * panelHeight)
        panels |> List.iteri (fun k s -> drawPanel canvas (k % columns * panelWidth) (k / columns * panelHeight) s)
        Tensor.ofArray (canvas.Pixels, [ 3; canvas.Height; canvas.Width ])

    let draw (metricsPath: string) (pngPath: string) =
        use scope = DisposalScope.Open()
        Image.save pngPath (render (Metrics.read metricsPath))
