//! Odd frame counts forward and backward through the ResNet presets, with candle's ops (what CUDA runs) and ours.

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use speaker_app::models::{SpeakerModel, SpeakerModelConfig};
use train_kit::conv::{with_implementation, Implementation};

#[test]
fn odd_frame_counts_run_with_both_implementations() {
    for name in ["small", "resnet34"] {
        let cfg = SpeakerModelConfig::by_name(name).unwrap();
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let model = SpeakerModel::new(&cfg, vb).unwrap();
        for frames in [198usize, 199, 57] {
            let x = Tensor::randn(0f32, 1.0, (2, frames, cfg.feat_dim()), &Device::Cpu).unwrap();
            for imp in [Implementation::Candle, Implementation::Fast] {
                let y = with_implementation(imp, || model.forward_t(&x, true));
                let y = y.unwrap_or_else(|e| panic!("{name} {frames} frames {imp:?}: {e}"));
                assert_eq!(y.dims(), [2, cfg.embedding_dim()]);
                with_implementation(imp, || y.sqr().unwrap().sum_all().unwrap().backward())
                    .unwrap_or_else(|e| panic!("{name} {frames} frames {imp:?} backward: {e}"));
            }
        }
    }
}
