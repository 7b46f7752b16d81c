// UNICORN on procedural cars: 1,000 shapes (700 for training) rendered in the multi-view
// protocol and given as single images (RGB on white, no camera, no mask, no view identity).
// Run: dotnet fsi build.fsx experiment unicorn_car   (resume: ... unicorn_car --resume)
#load "load.fsx"

open Reconstruct.App.Experiments

let experiment =
    { Unicorn.baseline with
        Name = "unicorn_car"
        Method = { Unicorn.baseline.Method with Data = Procedural("car", 1000) } }

exit (script Unicorn.run experiment (Array.tail fsi.CommandLineArgs))
