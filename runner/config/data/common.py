"""What the data schemas share: the cross-validation keys' range checks."""

from runner.errors import require


def check_folds(cv_folds: int, cv_fold: int) -> None:
    """Range checks for a data schema's __post_init__ (keys named as the user types them, under data.);
    the folds themselves are cut by runner/build/cross_validation.py."""
    require(cv_folds == 0 or cv_folds >= 2, "cv_folds", f"0 (no cross-validation) or at least 2, got {cv_folds}")
    if cv_folds:
        require(0 <= cv_fold < cv_folds, "cv_fold", f"between 0 and cv_folds - 1 = {cv_folds - 1}, got {cv_fold}")
    else:
        require(cv_fold == 0, "cv_fold", f"only with cv_folds >= 2 (cv_folds is 0: no cross-validation), got {cv_fold}")
