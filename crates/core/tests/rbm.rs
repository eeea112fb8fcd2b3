//! The RBM against exact answers: on RBMs small enough to enumerate every state, the CD-k
//! gradient estimate converges to the exact log-likelihood gradient, and CD training raises
//! the exact log-likelihood; on digit-like images the reconstruction error falls.

use gradlab_core::pretrain::{CdConfig, Gradient, Part, Rbm};
use gradlab_core::rng::Rng;
use gradlab_core::Error;

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Bit `i` of `state` as 0.0 or 1.0.
fn bit(state: usize, i: usize) -> f64 {
    ((state >> i) & 1) as f64
}

/// An RBM with the given parameters (W [hidden, visible]).
fn rbm_with(visible: usize, hidden: usize, weight: &[f32], visible_bias: &[f32], hidden_bias: &[f32]) -> Rbm {
    let mut rbm = Rbm::new(visible, hidden, 11).unwrap();
    rbm.set_parameter("test", Part::Weight, weight).unwrap();
    rbm.set_parameter("test", Part::VisibleBias, visible_bias).unwrap();
    rbm.set_parameter("test", Part::HiddenBias, hidden_bias).unwrap();
    rbm
}

/// The exact gradient of the mean log-likelihood of `data`, in f64, with the model's
/// expectations taken by enumerating all 2^(visible + hidden) joint states (v, h) and
/// weighting each by exp(−E(v, h)) / Z. Also returns log Z.
fn exact_gradient(rbm: &Rbm, data: &[f32], rows: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>, f64) {
    let (nv, nh) = (rbm.visible(), rbm.hidden());
    let (w, b, c) = (rbm.parameter(Part::Weight), rbm.parameter(Part::VisibleBias), rbm.parameter(Part::HiddenBias));
    let energy = |v: usize, h: usize| -> f64 {
        let mut e = 0.0;
        for i in 0..nv {
            e -= b[i] as f64 * bit(v, i);
        }
        for j in 0..nh {
            e -= c[j] as f64 * bit(h, j);
            for i in 0..nv {
                e -= bit(h, j) * w[j * nv + i] as f64 * bit(v, i);
            }
        }
        e
    };
    // Model expectations ⟨v_i h_j⟩, ⟨v_i⟩, ⟨h_j⟩ over p(v, h) = exp(−E)/Z.
    let (mut z, mut vh, mut v_mean, mut h_mean) = (0.0, vec![0.0; nh * nv], vec![0.0; nv], vec![0.0; nh]);
    for v in 0..1usize << nv {
        for h in 0..1usize << nh {
            let weight = (-energy(v, h)).exp();
            z += weight;
            for j in 0..nh {
                h_mean[j] += weight * bit(h, j);
                for i in 0..nv {
                    vh[j * nv + i] += weight * bit(h, j) * bit(v, i);
                }
            }
            for i in 0..nv {
                v_mean[i] += weight * bit(v, i);
            }
        }
    }
    // Data expectations: v_i · p(h_j = 1 | v), averaged over the rows.
    let (mut gw, mut gb, mut gc) = (vec![0.0; nh * nv], vec![0.0; nv], vec![0.0; nh]);
    for row in data.chunks(nv) {
        for j in 0..nh {
            let p = sigmoid(c[j] as f64 + (0..nv).map(|i| w[j * nv + i] as f64 * row[i] as f64).sum::<f64>());
            gc[j] += p / rows as f64;
            for i in 0..nv {
                gw[j * nv + i] += row[i] as f64 * p / rows as f64;
            }
        }
        for i in 0..nv {
            gb[i] += row[i] as f64 / rows as f64;
        }
    }
    for (g, m) in gw.iter_mut().zip(&vh) {
        *g -= m / z;
    }
    for (g, m) in gb.iter_mut().zip(&v_mean) {
        *g -= m / z;
    }
    for (g, m) in gc.iter_mut().zip(&h_mean) {
        *g -= m / z;
    }
    (gw, gb, gc, z.ln())
}

/// log Z from the free energy, summing exp(−F(v)) over the 2^visible visible states only.
fn log_partition(rbm: &Rbm) -> f64 {
    let nv = rbm.visible();
    let energies: Vec<f64> = (0..1usize << nv)
        .map(|v| {
            let state: Vec<f32> = (0..nv).map(|i| bit(v, i) as f32).collect();
            -rbm.free_energy(&state).unwrap()
        })
        .collect();
    let max = energies.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    max + energies.iter().map(|e| (e - max).exp()).sum::<f64>().ln()
}

/// The exact mean log-likelihood `mean(−F(v)) − log Z` of binary `data`.
fn exact_log_likelihood(rbm: &Rbm, data: &[f32]) -> f64 {
    let nv = rbm.visible();
    let rows = data.len() / nv;
    let log_z = log_partition(rbm);
    data.chunks(nv).map(|v| -rbm.free_energy(v).unwrap() - log_z).sum::<f64>() / rows as f64
}

fn max_error(estimate: &Gradient, exact: &(Vec<f64>, Vec<f64>, Vec<f64>, f64)) -> f64 {
    let pairs = [(&estimate.weight, &exact.0), (&estimate.visible_bias, &exact.1), (&estimate.hidden_bias, &exact.2)];
    pairs.iter().flat_map(|(a, b)| a.iter().zip(b.iter()).map(|(&x, &y)| (x as f64 - y).abs())).fold(0.0, f64::max)
}

#[test]
fn cd_k_with_long_chains_matches_the_exact_log_likelihood_gradient() {
    let (nv, nh) = (4, 3);
    let mut rng = Rng::new(5);
    // Weights of order 1, so the model distribution is far from uniform and the gradient is
    // not trivially small.
    let weight: Vec<f32> = (0..nv * nh).map(|_| rng.normal(0.0, 1.0)).collect();
    let visible_bias: Vec<f32> = (0..nv).map(|_| rng.normal(0.0, 0.5)).collect();
    let hidden_bias: Vec<f32> = (0..nh).map(|_| rng.normal(0.0, 0.5)).collect();
    let mut rbm = rbm_with(nv, nh, &weight, &visible_bias, &hidden_bias);
    let data: Vec<f32> = [[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 1, 0], [0, 1, 0, 1]].iter().flatten().map(|&b| b as f32).collect();
    let rows = data.len() / nv;
    let exact = exact_gradient(&rbm, &data, rows);
    assert!((exact.3 - log_partition(&rbm)).abs() < 1e-9, "free energy and joint enumeration disagree on log Z");

    // Every data row starts `chains_per_row` independent chains; each chain contributes one
    // negative statistic in [0, 1] (variance ≤ 1/4), so every estimated entry has a standard
    // error ≤ 0.5/√N. With N = 20,000 that is 0.0035; the tolerance is 5 of those (the data
    // term is exact). k = 200 steps is far beyond this RBM's mixing time.
    let chains_per_row = 4000;
    let chains: Vec<f32> = data.chunks(nv).flat_map(|row| std::iter::repeat(row).take(chains_per_row).flatten().cloned()).collect();
    let n = rows * chains_per_row;
    let tolerance = 5.0 * 0.5 / (n as f64).sqrt();
    let long = rbm.cd_gradient(&chains, n, 200, true).unwrap();
    let error_long = max_error(&long, &exact);
    assert!(error_long < tolerance, "CD-200 differs from the exact gradient by {} (tolerance {})", error_long, tolerance);

    // The estimate is not trivially right: the exact gradient is large next to the tolerance,
    // and CD-1 (a biased estimator) lands measurably further away on this strongly coupled RBM.
    let largest = exact.0.iter().chain(&exact.1).chain(&exact.2).fold(0.0f64, |m, g| m.max(g.abs()));
    assert!(largest > 10.0 * tolerance, "exact gradient too small to test: {}", largest);
    let short = rbm.cd_gradient(&chains, n, 1, true).unwrap();
    let error_short = max_error(&short, &exact);
    // Seeded, so deterministic: CD-1 is 0.0195 off, beyond the noise CD-200 is held to, and
    // nearly eight times CD-200's 0.0025.
    assert!(error_short > tolerance && error_short > 4.0 * error_long, "CD-1 error {} vs CD-200 {} (tolerance {})", error_short, error_long, tolerance);
}

#[test]
fn cd_training_raises_the_exact_log_likelihood() {
    let nv = 6;
    let patterns = [[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [1, 0, 1, 0, 1, 0]];
    let data: Vec<f32> = (0..10).flat_map(|_| patterns.iter().flatten().map(|&b| b as f32)).collect();
    let rows = data.len() / nv;
    let mut rbm = Rbm::new(nv, 4, 3).unwrap();
    let config = CdConfig { k: 1, lr: 0.1, momentum: 0.5, weight_decay: 0.0, sample_visible: false };
    let mut history = vec![exact_log_likelihood(&rbm, &data)];
    for _ in 0..6 {
        for _ in 0..50 {
            rbm.train_epoch(&data, rows, 5, &config).unwrap();
        }
        history.push(exact_log_likelihood(&rbm, &data));
    }
    println!("exact mean log-likelihood every 50 epochs: {:?} (best possible: {:.3})", history, -(3.0f64).ln());
    // From the uniform model's 6·ln ½ = −4.16 towards −ln 3 = −1.10 for three equally likely patterns.
    assert!(history[0] < -4.0);
    assert!(history[history.len() - 1] > history[0] + 1.5, "log-likelihood did not rise enough: {:?}", history);
    assert!(history[history.len() - 1] > history[1], "log-likelihood fell after the first checkpoint: {:?}", history);
}

/// Digit-like 28×28 binary images: ten stroke prototypes (thick line segments between random
/// points), each example a prototype shifted by up to a pixel with 2 % of its pixels flipped.
fn digit_like_images(count: usize, rng: &mut Rng) -> Vec<f32> {
    const SIDE: usize = 28;
    let prototypes: Vec<Vec<f32>> = (0..10)
        .map(|_| {
            let mut image = vec![0.0f32; SIDE * SIDE];
            for _ in 0..3 {
                let (x0, y0, x1, y1) = (rng.uniform(6.0, 22.0), rng.uniform(6.0, 22.0), rng.uniform(6.0, 22.0), rng.uniform(6.0, 22.0));
                for step in 0..=40 {
                    let t = step as f32 / 40.0;
                    let (x, y) = (x0 + t * (x1 - x0), y0 + t * (y1 - y0));
                    for dy in 0..2 {
                        for dx in 0..2 {
                            image[(y as usize + dy) * SIDE + x as usize + dx] = 1.0;
                        }
                    }
                }
            }
            image
        })
        .collect();
    let mut data = Vec::with_capacity(count * SIDE * SIDE);
    for n in 0..count {
        let prototype = &prototypes[n % 10];
        let (shift_x, shift_y) = (rng.below(3) as isize - 1, rng.below(3) as isize - 1);
        for y in 0..SIDE as isize {
            for x in 0..SIDE as isize {
                let (sx, sy) = (x - shift_x, y - shift_y);
                let inside = (0..SIDE as isize).contains(&sx) && (0..SIDE as isize).contains(&sy);
                let pixel = if inside { prototype[sy as usize * SIDE + sx as usize] } else { 0.0 };
                data.push(if rng.uniform(0.0, 1.0) < 0.02 { 1.0 - pixel } else { pixel });
            }
        }
    }
    data
}

#[test]
fn reconstruction_error_falls_on_digit_like_images() {
    let mut rng = Rng::new(9);
    let rows = 300;
    let data = digit_like_images(rows, &mut rng);
    let mut rbm = Rbm::new(784, 30, 1).unwrap();
    rbm.init_visible_bias(&data, rows).unwrap();
    let config = CdConfig { k: 1, lr: 0.1, momentum: 0.5, weight_decay: 0.0002, sample_visible: false };
    let initial = rbm.reconstruction_error("test", &data, rows).unwrap();
    let errors: Vec<f64> = (0..10).map(|_| rbm.train_epoch(&data, rows, 10, &config).unwrap()).collect();
    println!("reconstruction error: initial {:.2}, per epoch {:?}", initial, errors);
    assert!(errors[0] < initial, "the first epoch did not lower the error: {} → {}", initial, errors[0]);
    assert!(errors[errors.len() - 1] < 0.6 * initial, "error fell too little: {} → {:?}", initial, errors);
    assert!(errors.windows(2).filter(|w| w[1] > w[0]).count() <= 2, "error did not fall steadily: {:?}", errors);
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let mut rng = Rng::new(2);
    let data = digit_like_images(40, &mut rng);
    let train = |seed: u64| {
        let mut rbm = Rbm::new(784, 16, seed).unwrap();
        rbm.train_epoch(&data, 40, 8, &CdConfig { k: 2, ..CdConfig::default() }).unwrap();
        rbm.parameter(Part::Weight).to_vec()
    };
    assert_eq!(train(4), train(4));
    assert_ne!(train(4), train(5));
}

#[test]
fn bad_arguments_are_typed_errors() {
    let mut rbm = Rbm::new(4, 3, 0).unwrap();
    let good = [0.0, 1.0, 0.5, 1.0];
    let code = |e: Error| e.code();
    assert_eq!(code(Rbm::new(0, 3, 0).err().unwrap()), "InvalidArgument");
    assert_eq!(code(Rbm::new(1 << 14, 1 << 13, 0).err().unwrap()), "TooLarge");
    assert_eq!(code(rbm.train_epoch(&good, 2, 1, &CdConfig::default()).unwrap_err()), "ShapeMismatch");
    assert_eq!(code(rbm.train_epoch(&[0.0, 1.0, 2.0, 1.0], 1, 1, &CdConfig::default()).unwrap_err()), "InvalidArgument");
    assert_eq!(code(rbm.train_epoch(&[0.0, f32::NAN, 0.0, 1.0], 1, 1, &CdConfig::default()).unwrap_err()), "InvalidArgument");
    assert_eq!(code(rbm.train_epoch(&good, 1, 0, &CdConfig::default()).unwrap_err()), "InvalidArgument");
    for bad in [CdConfig { k: 0, ..CdConfig::default() }, CdConfig { momentum: 1.0, ..CdConfig::default() }, CdConfig { lr: f32::INFINITY, ..CdConfig::default() }, CdConfig { weight_decay: -1.0, ..CdConfig::default() }] {
        let error = rbm.train_epoch(&good, 1, 1, &bad).unwrap_err();
        assert_eq!(code(error), "InvalidArgument");
    }
    assert_eq!(code(rbm.set_parameter("test", Part::HiddenBias, &[0.0; 4]).unwrap_err()), "ShapeMismatch");
    assert_eq!(code(rbm.set_parameter("test", Part::HiddenBias, &[0.0, f32::NAN, 0.0]).unwrap_err()), "InvalidArgument");
    assert_eq!(code(rbm.free_energy(&[0.0; 3]).unwrap_err()), "ShapeMismatch");
    // Sizes that overflow 32 bits or exceed the scratch bound are TooLarge, not a panic: a
    // chain keeps 3 hidden values per row (86 rows of 2^20 pass 2^28), an output 1 per row.
    let mut wide = Rbm::new(1, 1 << 20, 0).unwrap();
    let ones = vec![1.0; 257];
    let arg = |e: Error| match e {
        Error::TooLarge { arg, .. } => arg,
        other => panic!("{:?}", other),
    };
    assert_eq!(arg(wide.train_epoch(&ones[..86], 86, 86, &CdConfig::default()).unwrap_err()), "batchSize");
    assert_eq!(arg(wide.cd_gradient(&ones[..86], 86, 1, false).unwrap_err()), "x");
    assert_eq!(arg(wide.hidden_probabilities("t", &ones, 257).unwrap_err()), "x");
    assert_eq!(wide.hidden_probabilities("t", &ones[..3], 3).unwrap().len(), 3 << 20);
    // Wide layers run the whole-dataset passes in blocks of fewer rows (here 16), same result.
    let one = wide.reconstruction_error("t", &ones[..1], 1).unwrap();
    let whole = wide.reconstruction_error("t", &ones[..40], 40).unwrap();
    assert!((whole - one).abs() <= 1e-9 * one, "40 equal rows in 3 blocks: {} vs one row {}", whole, one);
    assert!(wide.train_epoch(&ones[..2], 2, 2, &CdConfig::default()).unwrap().is_finite());
    // The RBM is still usable after every refusal.
    assert!(rbm.train_epoch(&good, 1, 1, &CdConfig::default()).unwrap().is_finite());
}
