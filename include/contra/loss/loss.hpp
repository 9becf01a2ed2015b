// contra/loss/loss.hpp — the contrastive losses.
#pragma once
#include "concepts.hpp"  // defines: loss::ContrastiveLoss
#include "gather.hpp"    // defines: loss::FeatureGather
#include "info_nce.hpp"  // defines: loss::InfoNce
#include "siglip.hpp"    // defines: loss::SigLip
