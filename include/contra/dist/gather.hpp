// contra/dist/gather.hpp — the all-gather that lets every rank's loss see every rank's features,
// with the gradient flowing back to the rank that owns them (open_clip's gather_with_grad).
// defines: dist::gather_with_grad, dist::gather_features
#pragma once
#include "../autograd/ops/common.hpp"
#include "../loss/gather.hpp"
#include "communicator.hpp"

namespace contra::dist {

// gather_with_grad(x [n, E], comm) → [size()·n, E], rank r's rows at r·n.
// Backward: each rank's gradient of the gathered rows is summed over ranks into its own slice
// (a reduce-scatter), because every rank's loss used every slice.
template <class T, class B>
Var<T, B> gather_with_grad(const Var<T, B>& x, Communicator& comm) {
    Shape all_shape = x.shape();
    CONTRA_CHECK(all_shape.rank() >= 1, "gather_with_grad: needs rows, got ", x.shape());
    all_shape[0] *= comm.size();
    auto all = ad::new_tensor<T, B>(all_shape);                                    // [W·n, E]
    all_gather_rows(comm, x.value(), all);
    Communicator* group = &comm;
    return record<T, B>(all, [x, group](const TensorOn<T, B>& g) {
        auto dx = ad::new_tensor<T, B>(x.shape());                                   // [n, E]
        reduce_scatter_rows(*group, g, dx);
        x.accumulate(dx);
    }, x);
}

// gather_features<T, B>(comm, local_loss): the policy that lets a loss see every rank's features,
//   model.loss_fn.gather = dist::gather_features<T, B>(comm, local_loss);
//   requires: comm outlives the loss's use of it.
template <class T, class B>
loss::FeatureGather<T, B> gather_features(Communicator& comm, bool local_loss) {
    Communicator* group = &comm;
    return {[group](const Var<T, B>& x) { return gather_with_grad(x, *group); }, comm.rank(), comm.size(), local_loss};
}

}  // namespace contra::dist
