// contra/loss/gather.hpp — how a contrastive loss sees the rest of a data-parallel batch: the
// policy a loss is given. A loss knows no communicator; it calls all_rows, which dist::
// gather_features builds over one (open_clip's gather_with_grad).
// defines: loss::FeatureGather
#pragma once
#include <functional>

#include "../autograd/var.hpp"

namespace contra::loss {

// FeatureGather<T, B>: empty (the default) on one process. Across `ranks` processes, all_rows
// maps this rank's features [n, E] to every rank's [ranks·n, E], rank r's rows at r·n, with the
// gradient flowing back to the rank that owns them. local_loss: each rank computes only its own
// n rows against all ranks·n columns (the same gradients once averaged over ranks).
template <class T, class B>
struct FeatureGather {
    std::function<Var<T, B>(const Var<T, B>&)> all_rows;
    int rank = 0, ranks = 1;
    bool local_loss = false;

    explicit operator bool() const { return bool(all_rows); }
};

}  // namespace contra::loss
