namespace Reconstruct.Train

open System
open System.Diagnostics
open System.Collections.Generic
open Spectre.Console

type Snapshot =
    { Name: string
      Iteration: int
      Total: int option
      Epoch: int
      ItPerS: float
      EtaSeconds: float option
      ElapsedS: float
      Lr: float
      Losses: (string * float) list }

type Display =
    | Auto
    | Live
    | Plain

module Progress =
    let isTerminal () = not Console.IsOutputRedirected

    let duration (seconds: float) =
        if not (Double.IsFinite seconds) || seconds < 0.0 then "?"
        else
            let s = int64 (Math.Round seconds)
            if s < 60L then sprintf "%ds" s
            elif s < 3600L then sprintf "%dm%02ds" (s / 60L) (s % 60L)
            else sprintf "%dh%02dm" (s / 3600L) (s % 3600L / 60L)

    let private g (v: float) = v.ToString("G4", Globalization.CultureInfo.InvariantCulture)

    /// The terms a person watches: "total" first, then the next few.
    let private mainLosses (losses: (string * float) list) = losses |> List.truncate 5

    let line (snapshot: Snapshot) =
        let s = snapshot
        let count =
            match s.Total with
            | Some total -> sprintf "iteration %d/%d (%d%%)" s.Iteration total (int (100.0 * float s.Iteration / float (max total 1)))
            | None -> sprintf "iteration %d" s.Iteration
        let eta = s.EtaSeconds |> Option.map (fun e -> ", ETA " + duration e) |> Option.defaultValue ""
        let losses = mainLosses s.Losses |> List.map (fun (n, v) -> sprintf ", %s %s" n (g v)) |> String.concat ""
        sprintf "%s: %s, %s it/s%s%s" s.Name count (g s.ItPerS) eta losses

    let private plain (seconds: float) (log: string -> unit) body =
        let clock = Stopwatch.StartNew()
        let mutable shownAt = Double.NegativeInfinity
        let mutable pending = None
        let report (s: Snapshot) =
            let now = clock.Elapsed.TotalSeconds
            if now - shownAt >= seconds then
                shownAt <- now
                pending <- None
                log (line s)
            else pending <- Some s
        let result = body report log
        pending |> Option.iter (line >> log)
        result

    let private panel (s: Snapshot option) (messages: string list) =
        let table = Table().Border(TableBorder.Rounded).HideHeaders()
        table.AddColumn "" |> ignore
        table.AddColumn "" |> ignore
        let row (k: string) (v: string) = table.AddRow(Markup.Escape k, Markup.Escape v) |> ignore
        match s with
        | None -> row "training" "starting"
        | Some s ->
            row "run" s.Name
            row "iteration" (match s.Total with Some t -> sprintf "%d / %d" s.Iteration t | None -> string s.Iteration)
            row "epoch" (string s.Epoch)
            row "speed" (sprintf "%s it/s" (g s.ItPerS))
            row "elapsed" (duration s.ElapsedS)
            row "ETA" (s.EtaSeconds |> Option.map duration |> Option.defaultValue "-")
            row "lr" (g s.Lr)
            for n, v in mainLosses s.Losses do row n (g v)
        for m in messages do row "" m
        table

    let private live (log: string -> unit) body =
        let messages = List<string>()
        try
            AnsiConsole.Live(panel None []).AutoClear(false).Start(fun ctx ->
                let clock = Stopwatch.StartNew()
                let mutable shownAt = Double.NegativeInfinity
                let mutable latest = None
                let show () =
                    ctx.UpdateTarget(panel latest (messages |> Seq.rev |> Seq.truncate 3 |> Seq.rev |> List.ofSeq))
                    ctx.Refresh()
                let report (s: Snapshot) =
                    latest <- Some s
                    let now = clock.Elapsed.TotalSeconds
                    if now - shownAt >= 0.2 then
                        shownAt <- now
                        show ()
                let message (m: string) =
                    messages.Add m
                    show ()
                let result = body report message
                show ()
                result)
        finally
            for m in messages do log m

    let within (display: Display) (seconds: float) (log: string -> unit) body =
        match display with
        | Live -> live log body
        | Plain -> plain seconds log body
        | Auto -> if isTerminal () then live log body else plain seconds log body
