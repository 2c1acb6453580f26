"""Rankings & reviews: leaderboard, scorecards, ratings, review pack."""
