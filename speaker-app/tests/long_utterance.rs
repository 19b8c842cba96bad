//! Embedding memory does not grow with the utterance: a counting allocator measures the peak
//! of embedding 3 and 12 minutes of audio with the small ResNet. Only the waveform and its
//! features grow (4 + 1.3 bytes a sample, about 61 MB for the extra 9 minutes); the backbone's
//! working memory is bounded by the 60 s window. Before windowing, the backbone's activations
//! grew in proportion (15 GB for 30 minutes of ResNet34), which this bound rules out.
//!
//! One test per binary: the allocator counts every thread of the process.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use candle_core::{DType, Device};
use candle_nn::VarMap;
use speaker_app::embed::{embed_waveform, eval_fbank, windows, WINDOW_FRAMES};
use speaker_app::models::{SpeakerModel, REGISTRY};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded to the system allocator with the caller's layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn tone(seconds: usize) -> Vec<f32> {
    (0..seconds * 16_000)
        .map(|i| 3000.0 * ((i as f32) * 0.031).sin() + 800.0 * ((i as f32) * 0.17).sin())
        .collect()
}

/// Peak bytes allocated above the level before the call, while embedding `samples`.
fn peak_of(model: &SpeakerModel, samples: &[f32]) -> (usize, Vec<f32>) {
    let fbank = eval_fbank(model).unwrap();
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let emb = embed_waveform(model, &fbank, samples, &Device::Cpu).unwrap();
    (PEAK.load(Ordering::Relaxed) - base, emb)
}

#[test]
fn embedding_memory_is_bounded_by_the_window() {
    // Window bookkeeping: weights cover every frame once.
    assert_eq!(windows(10), vec![(0, 10, 10)]);
    let w = windows(2 * WINDOW_FRAMES + 123);
    assert_eq!(
        w.iter().map(|(_, _, weight)| weight).sum::<usize>(),
        2 * WINDOW_FRAMES + 123
    );
    assert_eq!(
        w.last().unwrap().0 + w.last().unwrap().1,
        2 * WINDOW_FRAMES + 123
    );

    let varmap = VarMap::new();
    let config = REGISTRY.from_spec("small").unwrap();
    let vb = train_kit::seeded_var_builder(&varmap, 3, DType::F32, &Device::Cpu);
    let model = SpeakerModel::new(&config, vb).unwrap();
    let short = tone(180);
    let long = tone(720);
    let (peak_short, _) = peak_of(&model, &short);
    let (peak_long, emb) = peak_of(&model, &long);
    assert!(emb.iter().all(|x| x.is_finite()));
    // The extra 9 minutes: waveform copies and features, about 61 MB; allow 3x for copies.
    let linear_budget = 3 * (720 - 180) * 16_000 * (4 + 2);
    eprintln!(
        "peak: 3 min {} MB, 12 min {} MB",
        peak_short >> 20,
        peak_long >> 20
    );
    assert!(
        peak_long < peak_short + linear_budget,
        "peak grew from {peak_short} to {peak_long} bytes: more than the features account for"
    );
}
