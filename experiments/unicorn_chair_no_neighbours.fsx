// Ablation on procedural chairs: no neighbour reconstruction (the swaps never start); everything
// else as Unicorn.chair 6000, whose run is unicorn_chair_every_lr1e-3 (the ablations keep its
// 6,000-iteration budget, half unicorn_chair's, so two fit a sitting). UNICORN reports that
// without it the unseen side of the object is wrong.
// Run: dotnet fsi build.fsx experiment unicorn_chair_no_neighbours
#load "load.fsx"

open Reconstruct.App.Experiments

let chair = Unicorn.chair 6000

let experiment =
    { chair with
        Name = "unicorn_chair_no_neighbours"
        Method =
            { chair.Method with
                Curriculum = { chair.Method.Curriculum with NeighboursFrom = System.Int32.MaxValue } } }

exit (script Unicorn.run experiment (Array.tail fsi.CommandLineArgs))
