// UNICORN on the real chairs of Debian's sweethome3d-furniture (64 models: 45 train, 6 val,
// 13 test), rendered in the multi-view protocol and given as single images: 45 × 24 = 1,080
// training images. Everything else is Unicorn.chair 6000 (lr 1e-3, EveryCandidate; 6,000
// iterations so that the run fits a sitting beside another).
// Run: dotnet fsi build.fsx experiment unicorn_furniture_chair
#load "load.fsx"

open Reconstruct.App.Experiments

let chair = Unicorn.chair 6000

let experiment =
    { chair with
        Name = "unicorn_furniture_chair"
        Method = { chair.Method with Data = Furniture "chair"; ValidationInstances = 6 } }

exit (script Unicorn.run experiment (Array.tail fsi.CommandLineArgs))
