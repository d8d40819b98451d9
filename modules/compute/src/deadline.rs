//! A requester's job deadline: the height by which the job must settle.
//!
//! A job without a deadline gets the params' windows from its assignment at
//! `a`: commitments until `a + commit_window`, reveals until that plus
//! `reveal_window`. A deadline `d` can only shorten that life, never lengthen
//! a window past the params' (governance's windows stay the upper bound):
//!
//! * at submission in block `s`, `d` must lie in
//!   `s + 1 + 2 × min_phase_window ..= s + max_pending_blocks + commit_window + reveal_window`:
//!   the job is assigned at `s + 1` at the earliest, and each phase needs
//!   `min_phase_window` blocks; the upper end is the latest height a job
//!   without a deadline could settle at;
//! * at assignment in block `a`, the reveal deadline is
//!   `r = min(d, a + commit_window + reveal_window)` and the commit deadline
//!   `a + k`, where `k = (r - a) × commit_window / (commit_window + reveal_window)`
//!   (rounded down) held within `min_phase_window ..= r - a - min_phase_window`;
//!   with `r` at the default this gives exactly the default windows;
//! * a pending job whose deadline leaves less than `2 × min_phase_window`
//!   blocks after the block examining it expires there, refunded in full.
//!
//! Phases count the blocks after assignment: providers learn of an
//! assignment only once its block is out, so the assigning block is no use
//! to them. The floor `min_phase_window` (a governed parameter, at least one
//! block) keeps a requester from setting honest providers up to miss their
//! windows, and be slashed, with a deadline they could not meet.

use crate::{ComputeError, ComputeParams};

/// The floor of each phase: the parameter, and never below one block.
fn floor(params: &ComputeParams) -> u64 {
    params.min_phase_window.max(1)
}

/// The earliest and the latest deadline a job submitted at `height` may ask
/// for. Heights saturate: params are bounded far below `u64::MAX`, and a
/// saturated bound only makes a deadline harder to meet, never a hook fail.
pub fn bounds(height: u64, params: &ComputeParams) -> Result<(u64, u64), ComputeError> {
    let earliest = height.saturating_add(floor(params).saturating_mul(2).saturating_add(1));
    let latest = height
        .saturating_add(params.max_pending_blocks)
        .saturating_add(params.commit_window)
        .saturating_add(params.reveal_window);
    Ok((earliest, latest))
}

/// Checks a deadline asked for in a submission at `height` (the stateful
/// check: it needs the height and the params).
pub fn check(deadline: u64, height: u64, params: &ComputeParams) -> Result<(), ComputeError> {
    let (earliest, latest) = bounds(height, params)?;
    let refuse = |reason: String| ComputeError::InvalidDeadline {
        deadline,
        height,
        reason,
    };
    if deadline <= height {
        return Err(refuse(format!(
            "it has passed; give a height from {earliest} to {latest}, or none"
        )));
    }
    if deadline < earliest {
        return Err(refuse(format!(
            "it is too close: the job is assigned at {} at the earliest and its commit and \
             reveal phases need {} blocks each (min_phase_window), so the earliest deadline is {earliest}",
            height.saturating_add(1),
            floor(params)
        )));
    }
    if deadline > latest {
        return Err(refuse(format!(
            "it is later than a job without a deadline could settle (max_pending_blocks + \
             commit_window + reveal_window after submission), so the latest deadline is {latest}; \
             give none for the default windows"
        )));
    }
    Ok(())
}

/// The commit and reveal deadlines of a job assigned at `assigned`, or
/// `None` if its `deadline` leaves too little time for both phases (the job
/// then expires with a refund). It runs in `begin_block`, so it never fails
/// on a value in state: heights saturate (a job placed at the end of time
/// just cannot be answered, and expires unanswered with a refund).
pub fn place(
    assigned: u64,
    deadline: Option<u64>,
    params: &ComputeParams,
) -> Result<Option<(u64, u64)>, ComputeError> {
    let default_commit = assigned.saturating_add(params.commit_window.max(1));
    let default_reveal = default_commit.saturating_add(params.reveal_window.max(1));
    let Some(deadline) = deadline else {
        return Ok(Some((default_commit, default_reveal)));
    };
    let reveal = deadline.min(default_reveal);
    let m = floor(params);
    let Some(life) = reveal.checked_sub(assigned) else {
        return Ok(None);
    };
    let Some(most) = life.checked_sub(m).filter(|most| *most >= m) else {
        return Ok(None);
    };
    // life × commit_window fits in u128 (both below 2^64); the quotient is
    // at most `life`, so it fits in u64. The windows sum is at least 2.
    let windows = u128::from(params.commit_window.max(1))
        .saturating_add(u128::from(params.reveal_window.max(1)));
    let share = u128::from(life)
        .saturating_mul(u128::from(params.commit_window.max(1)))
        .checked_div(windows)
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(m);
    let commit = assigned.saturating_add(share.clamp(m, most));
    Ok(Some((commit, reveal)))
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn params(commit_window: u64, reveal_window: u64, min_phase_window: u64) -> ComputeParams {
        ComputeParams {
            commit_window,
            reveal_window,
            min_phase_window,
            max_pending_blocks: 10,
            ..ComputeParams::default()
        }
    }

    #[test]
    fn without_a_deadline_the_params_windows_apply() {
        let p = params(20, 10, 2);
        assert_eq!(place(100, None, &p).unwrap(), Some((120, 130)));
    }

    #[test]
    fn a_deadline_at_or_past_the_default_leaves_the_default_windows() {
        let p = params(20, 10, 2);
        assert_eq!(place(100, Some(130), &p).unwrap(), Some((120, 130)));
        // Later than the windows allow from this assignment: capped at them.
        assert_eq!(place(100, Some(135), &p).unwrap(), Some((120, 130)));
    }

    #[test]
    fn a_shorter_deadline_splits_its_life_in_the_windows_proportion() {
        let p = params(20, 10, 2);
        // 15 blocks: 10 to commit, 5 to reveal (2:1).
        assert_eq!(place(100, Some(115), &p).unwrap(), Some((110, 115)));
        // 7 blocks: 7 × 2/3 = 4 (rounded down) to commit, 3 to reveal.
        assert_eq!(place(100, Some(107), &p).unwrap(), Some((104, 107)));
        // Equal windows: 9 blocks, 4 to commit, 5 to reveal.
        assert_eq!(
            place(100, Some(109), &params(20, 20, 1)).unwrap(),
            Some((104, 109))
        );
    }

    #[test]
    fn each_phase_keeps_at_least_the_minimum_window() {
        // 5 blocks at 1:9 would give 0 to commit: held at the floor of 2.
        let p = params(2, 18, 2);
        assert_eq!(place(100, Some(105), &p).unwrap(), Some((102, 105)));
        // And at 9:1, reveal keeps 2.
        let p = params(18, 2, 2);
        assert_eq!(place(100, Some(105), &p).unwrap(), Some((103, 105)));
        // Exactly two floors: one floor each.
        assert_eq!(place(100, Some(104), &p).unwrap(), Some((102, 104)));
    }

    #[test]
    fn a_deadline_too_close_to_the_assignment_cannot_be_placed() {
        let p = params(20, 10, 2);
        assert_eq!(place(100, Some(103), &p).unwrap(), None);
        assert_eq!(place(100, Some(100), &p).unwrap(), None);
        assert_eq!(place(100, Some(90), &p).unwrap(), None);
        // A floor of 0 (an old stored param) still leaves one block each.
        let p = params(20, 10, 0);
        assert_eq!(place(100, Some(101), &p).unwrap(), None);
        assert_eq!(place(100, Some(102), &p).unwrap(), Some((101, 102)));
    }

    #[test]
    fn a_submission_accepts_deadlines_between_the_earliest_and_the_default() {
        let p = params(20, 10, 2);
        // Submitted at 50: assigned at 51 at the earliest, 2 + 2 blocks.
        assert_eq!(bounds(50, &p).unwrap(), (55, 90));
        for d in [55, 70, 90] {
            check(d, 50, &p).unwrap();
        }
    }

    #[test]
    fn a_submission_refuses_past_too_close_and_too_late_deadlines_with_the_limits() {
        let p = params(20, 10, 2);
        let reason = |d| match check(d, 50, &p) {
            Err(ComputeError::InvalidDeadline {
                deadline,
                height,
                reason,
            }) => {
                assert_eq!((deadline, height), (d, 50));
                reason
            }
            other => panic!("{other:?}"),
        };
        assert!(reason(50).contains("has passed"));
        assert!(reason(3).contains("from 55 to 90"));
        let r = reason(54);
        assert!(
            r.contains("too close") && r.contains("earliest deadline is 55"),
            "{r}"
        );
        let r = reason(91);
        assert!(r.contains("latest deadline is 90"), "{r}");
    }

    #[test]
    fn huge_heights_and_windows_saturate_instead_of_failing_or_wrapping() {
        // Before issue 10 these returned an overflow error, which in
        // begin_block halted the chain.
        let p = params(u64::MAX / 2, u64::MAX / 2, 1);
        assert_eq!(bounds(10, &p).unwrap(), (13, u64::MAX));
        assert_eq!(
            place(u64::MAX - 1, None, &params(20, 10, 2)).unwrap(),
            Some((u64::MAX, u64::MAX))
        );
        assert!(place(5, Some(u64::MAX), &p).unwrap().is_some());
    }

    proptest! {
        #[test]
        fn placed_phases_never_exceed_the_windows_nor_fall_below_the_floor(
            c in 1u64..200, v in 1u64..200, m in 1u64..20, a in 0u64..1_000_000, life in 0u64..500
        ) {
            prop_assume!(m <= c && m <= v);
            let p = params(c, v, m);
            match place(a, Some(a + life), &p).unwrap() {
                None => prop_assert!(life < 2 * m),
                Some((commit, reveal)) => {
                    prop_assert!(reveal <= a + life && reveal <= a + c + v);
                    prop_assert!(commit - a >= m && reveal - commit >= m);
                    prop_assert!(commit - a <= c && reveal - commit <= v);
                    if life >= c + v {
                        prop_assert_eq!((commit, reveal), (a + c, a + c + v));
                    }
                }
            }
        }

        #[test]
        fn every_accepted_deadline_can_be_placed_if_assigned_at_once(
            c in 1u64..200, v in 1u64..200, m in 1u64..20, s in 0u64..1_000_000, d in 0u64..2_000_000
        ) {
            prop_assume!(m <= c && m <= v);
            let p = params(c, v, m);
            if check(d, s, &p).is_ok() {
                prop_assert!(place(s + 1, Some(d), &p).unwrap().is_some());
            }
        }
    }
}
